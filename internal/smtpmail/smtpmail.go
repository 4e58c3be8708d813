// Package smtpmail is the messages capability's SMTP transport, through
// github.com/wneessen/go-mail: a mail becomes a multipart message (text,
// and HTML as its alternative) with a Message-ID derived from the mail's
// id, and the server's answer is classified: 4xx, refused connections and
// timeouts are worth retrying (UNAVAILABLE), 5xx is final
// (FAILED_PRECONDITION, with the server's words).
//
// Two timeouts bound an attempt. The connection and the exchanges before
// the mail (greeting, EHLO, STARTTLS, AUTH) have CommandTimeout (30 s).
// The mail itself — MAIL, RCPT, DATA, the data, and the server's final
// answer — has DataTimeout (5 min): a server may scan a mail before it
// answers its end, and RFC 5321 §4.5.3.2 asks a client to wait 10
// minutes for that answer rather than give up on a mail the server then
// takes. 5 minutes keeps an attempt within what a Cloud Functions event
// trigger may run (9 minutes) and within the mail's lease (messages.
// Sender.Lease). Both are cut to the context's deadline, so that an
// attempt ends within its lease whatever the configuration.
//
// Given up before the end of the data, nothing was sent: worth retrying.
// Given up after it (no answer in time, the connection lost), the server
// may or may not have the mail: the error wraps messages.ErrDeliveryUnknown
// and is final — never sent again blindly.
package smtpmail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
	gomail "github.com/wneessen/go-mail"
)

// The timeouts of an attempt (see the package's doc).
const (
	CommandTimeout = 30 * time.Second
	DataTimeout    = 5 * time.Minute
)

// Transport sends mail through one SMTP server.
type Transport struct {
	host        string
	port        int
	opts        []gomail.Option // with the command timeout
	from        string
	domain      string // of Message-IDs
	timeout     time.Duration
	dataTimeout time.Duration
}

var _ messages.Transport = (*Transport)(nil)

// New parses SMTP_URL — smtp://[user:password@]host[:port] (STARTTLS when
// the server offers it; port 587 by default), smtp+starttls:// (STARTTLS
// required) or smtps:// (TLS from the start; port 465) — and returns a
// transport sending as from (an RFC 5322 address).
func New(smtpURL, from string) (*Transport, error) {
	u, err := url.Parse(smtpURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("SMTP_URL is not smtp://[user:password@]host[:port]")
	}
	t := &Transport{host: u.Hostname(), from: from, timeout: CommandTimeout, dataTimeout: DataTimeout}
	port, defPort := 0, 587
	var policy []gomail.Option
	switch u.Scheme {
	case "smtp":
		policy = []gomail.Option{gomail.WithTLSPortPolicy(gomail.TLSOpportunistic)}
	case "smtp+starttls":
		policy = []gomail.Option{gomail.WithTLSPortPolicy(gomail.TLSMandatory)}
	case "smtps":
		policy, defPort = []gomail.Option{gomail.WithSSL()}, 465
	default:
		return nil, fmt.Errorf("SMTP_URL: scheme %q is not smtp, smtp+starttls or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("SMTP_URL: port %q", p)
		}
	} else {
		port = defPort
	}
	t.port = port
	t.opts = append(policy, gomail.WithPort(port), gomail.WithTimeout(t.timeout))
	if u.User != nil {
		pw, _ := u.User.Password()
		t.opts = append(t.opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	if a, err := parseFrom(from); err == nil {
		if _, d, ok := strings.Cut(a, "@"); ok {
			t.domain = d
		}
	}
	if t.domain == "" {
		t.domain = "oms.invalid"
	}
	return t, nil
}

func parseFrom(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// Bound is the longest an attempt can take: the connection and commands,
// then the mail. A sender's lease on a mail must be longer.
func (t *Transport) Bound() time.Duration { return t.timeout + t.dataTimeout }

// MessageID is the Message-ID of the mail with id: the same for every
// attempt, so that a mail delivered twice (an unknown outcome retried by
// hand) is recognisable as one.
func (t *Transport) MessageID(id string) string { return id + "@" + t.domain }

// Send implements messages.Transport.
func (t *Transport) Send(ctx context.Context, m messages.Mail) (messages.Sent, error) {
	msg := gomail.NewMsg()
	from := m.From
	if from == "" {
		from = t.from
	}
	if err := msg.From(from); err != nil {
		return messages.Sent{}, apperr.New(apperr.FailedPrecondition, "the sender %q is not an address: %v", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return messages.Sent{}, apperr.New(apperr.FailedPrecondition, "the recipient %q is not an address: %v", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return messages.Sent{}, apperr.New(apperr.FailedPrecondition, "reply-to %q is not an address: %v", m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(t.MessageID(m.ID))
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := t.opts
	if left, ok := remaining(ctx); ok && left < t.timeout {
		opts = append(slices.Clip(opts), gomail.WithTimeout(left))
	}
	c, err := gomail.NewClient(t.host, opts...)
	if err != nil {
		return messages.Sent{}, apperr.New(apperr.FailedPrecondition, "the mail client: %v", err)
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return messages.Sent{}, classify(err, 0)
	}
	// The mail's own exchange: SendWithSMTPClient gives the connection a
	// deadline of the client's timeout, now the data timeout.
	data := t.dataTimeout
	if left, ok := remaining(ctx); ok && left < data {
		data = left
	}
	if data <= 0 {
		_ = c.CloseWithSMTPClient(sc)
		return messages.Sent{}, apperr.New(apperr.Unavailable, "no time left to send the mail (will retry)")
	}
	if err := gomail.WithTimeout(data)(c); err != nil {
		_ = c.CloseWithSMTPClient(sc)
		return messages.Sent{}, apperr.New(apperr.FailedPrecondition, "the mail client: %v", err)
	}
	err = c.SendWithSMTPClient(sc, msg)
	// QUIT after the server took the mail may fail without undoing it.
	_ = c.CloseWithSMTPClient(sc)
	if err != nil {
		return messages.Sent{}, classify(err, data)
	}
	return messages.Sent{MessageID: "<" + t.MessageID(m.ID) + ">", Response: msg.ServerResponse(), Accepted: []string{m.To}}, nil
}

// remaining is the time left before ctx's deadline, if it has one.
func remaining(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	return time.Until(dl), ok
}

// classify: a 5xx answer is final; a 4xx, a connection refused or reset,
// a timeout are worth retrying — except after the end of the data, when
// no answer (a timeout after waited, the connection lost) leaves the
// delivery unknown, final.
func classify(err error, waited time.Duration) error {
	var se *gomail.SendError
	var ne net.Error
	switch {
	case errors.As(err, &se) && se.Reason == gomail.ErrSMTPDataClose && se.ErrorCode() == 0:
		return apperr.Wrap(fmt.Errorf("%w: %w", messages.ErrDeliveryUnknown, err), apperr.FailedPrecondition,
			"delivery unknown: the mail server did not answer the end of the data within %s (it may or may not have taken the mail); not sent again: %v", waited, err)
	case errors.As(err, &se) && se.ErrorCode() >= 500 && !se.IsTemp():
		return apperr.Wrap(err, apperr.FailedPrecondition, "the mail server refused the mail: %v", err)
	case errors.As(err, &se), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(err, apperr.Unavailable, "the mail server did not take the mail (will retry): %v", err)
	}
	return apperr.Wrap(err, apperr.Unavailable, "the mail server did not take the mail (will retry): %v", err)
}
