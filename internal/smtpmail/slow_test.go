package smtpmail

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
	gomail "github.com/wneessen/go-mail"
)

// slowServer is a tiny SMTP server that answers every command at once but
// the end of the data only after delay (a server that scans the mail
// before it takes it). It counts the mails it accepted.
type slowServer struct {
	addr     string
	delay    time.Duration
	mu       sync.Mutex
	accepted int
}

func startSlowServer(t *testing.T, delay time.Duration) *slowServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &slowServer{addr: l.Addr().String(), delay: delay}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *slowServer) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	say("220 slow.example ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-slow.example")
			say("250-8BITMIME")
			say("250 ENHANCEDSTATUSCODES")
		case "DATA":
			say("354 end with <CRLF>.<CRLF>")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			time.Sleep(s.delay)
			s.mu.Lock()
			s.accepted++
			s.mu.Unlock()
			say("250 2.0.0 Ok: queued as SLOW1")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			say("250 2.0.0 Ok")
		}
	}
}

func (s *slowServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// A server that answers the end of the data later than the transport's
// command timeout (the 30 s the transport allowed for everything, scaled
// down here: a 150 ms timeout and a server taking 600 ms) is waited for:
// the mail is sent once, and the answer recorded. Before, the transport
// gave up on the answer of a mail the server then took, and a retry sent
// it again.
func TestSlowFinalReplyIsWaitedFor(t *testing.T) {
	srv := startSlowServer(t, 600*time.Millisecond)
	tr, err := New("smtp://"+srv.addr, "orders@readyplanner.example")
	if err != nil {
		t.Fatal(err)
	}
	tr.opts = append(tr.opts, gomail.WithTimeout(150*time.Millisecond)) // the command timeout
	sent, err := tr.Send(context.Background(), messages.Mail{ID: "K7Q2M9XH4TBA-receipt", To: "ann@example.com", Subject: "Your receipt", Text: "Thank you."})
	if err != nil || !strings.Contains(sent.Response, "queued as SLOW1") {
		t.Errorf("a slow final answer: %+v %v", sent, err)
	}
	time.Sleep(700 * time.Millisecond)
	if n := srv.count(); n != 1 {
		t.Errorf("the server took %d copies", n)
	}
}

// Given up after the end of the data — no answer within the data timeout,
// or before the context's deadline — the delivery is unknown: the error is
// final and says so, since the server may have taken the mail (here it
// did), and a retry would send it twice.
func TestNoFinalReplyIsDeliveryUnknown(t *testing.T) {
	m := messages.Mail{ID: "K7Q2M9XH4TBA-receipt", To: "ann@example.com", Subject: "Your receipt", Text: "Thank you."}
	for name, c := range map[string]struct {
		data, ctx time.Duration
	}{"the data timeout": {200 * time.Millisecond, time.Minute}, "the context's deadline": {time.Minute, 200 * time.Millisecond}} {
		srv := startSlowServer(t, 500*time.Millisecond)
		tr, err := New("smtp://"+srv.addr, "orders@readyplanner.example")
		if err != nil {
			t.Fatal(err)
		}
		tr.dataTimeout = c.data
		ctx, cancel := context.WithTimeout(context.Background(), c.ctx)
		start := time.Now()
		_, err = tr.Send(ctx, m)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, messages.ErrDeliveryUnknown) || apperr.CodeOf(err) != apperr.FailedPrecondition || !strings.Contains(err.Error(), "delivery unknown") {
			t.Errorf("%s: %v", name, err)
		}
		if took > 400*time.Millisecond {
			t.Errorf("%s: the attempt took %v", name, took)
		}
		time.Sleep(500 * time.Millisecond)
		if n := srv.count(); n != 1 {
			t.Errorf("%s: the server took %d copies", name, n)
		}
	}
}

// A real server's 30 s and more: the defaults wait 5 minutes for the
// final answer (RFC 5321 §4.5.3.2 asks 10), well past the 30 s the
// transport allowed before, and an attempt's bound stays within a Cloud
// Functions event trigger's 9 minutes.
func TestTimeoutsWaitForASlowServer(t *testing.T) {
	tr, err := New("smtp://mail.example.com", "orders@readyplanner.example")
	if err != nil {
		t.Fatal(err)
	}
	if tr.timeout != 30*time.Second || tr.dataTimeout != 5*time.Minute || tr.Bound() >= 9*time.Minute {
		t.Errorf("timeouts %v and %v, bound %v", tr.timeout, tr.dataTimeout, tr.Bound())
	}
}
