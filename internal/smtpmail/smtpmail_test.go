package smtpmail

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/messages"
)

func mailpit(t *testing.T) *emulator.Mailpit {
	t.Helper()
	m, err := emulator.StartMailpit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	return m
}

// A mail reaches a real SMTP server (mailpit) whole: sender, recipient,
// subject, text and HTML, the Message-ID derived from its id, and the
// server's answer recorded; a 4xx answer, a server that is not there and
// a 5xx answer are told apart.
func TestSendThroughARealServer(t *testing.T) {
	ctx := context.Background()
	mp := mailpit(t)
	tr, err := New(mp.SMTPURL(), "ReadyPlanner <orders@readyplanner.example>")
	if err != nil {
		t.Fatal(err)
	}
	m := messages.Mail{ID: "K7Q2M9XH4TBA-receipt", To: "ann@example.com", ReplyTo: "help@readyplanner.example", Subject: "Your receipt",
		Text: "Thank you, Ann.", HTML: "<p>Thank you, <b>Ann</b>.</p>"}
	sent, err := tr.Send(ctx, m)
	if err != nil || sent.MessageID != "<K7Q2M9XH4TBA-receipt@readyplanner.example>" || !strings.Contains(sent.Response, "Ok") {
		t.Fatalf("send: %+v %v", sent, err)
	}
	found, err := mp.Search(ctx, `to:"ann@example.com"`)
	if err != nil || len(found) != 1 {
		t.Fatalf("mailpit has %d: %v", len(found), err)
	}
	got, err := mp.Message(ctx, found[0].ID)
	if err != nil || got.Subject != "Your receipt" || got.From.Address != "orders@readyplanner.example" || got.From.Name != "ReadyPlanner" ||
		!strings.Contains(got.Text, "Thank you, Ann.") || !strings.Contains(got.HTML, "<b>Ann</b>") || got.MessageID != "K7Q2M9XH4TBA-receipt@readyplanner.example" {
		t.Errorf("read back: %+v %v", got, err)
	}

	if err := mp.Fail(ctx, 451); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Send(ctx, m); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("451: %v", err)
	}
	if err := mp.Fail(ctx, 550); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Send(ctx, m); apperr.CodeOf(err) != apperr.FailedPrecondition || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "smtp://" + l.Addr().String()
	l.Close()
	down, _ := New(gone, "orders@readyplanner.example")
	if _, err := down.Send(ctx, m); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("no server: %v", err)
	}
}

func TestURLs(t *testing.T) {
	for _, bad := range []string{"", "http://mail.example.com", "smtp://", "smtp://h:99999"} {
		if _, err := New(bad, "a@b.c"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for u, port := range map[string]int{"smtp://h": 587, "smtps://u:p@h": 465, "smtp+starttls://h:2525": 2525} {
		tr, err := New(u, "a@b.c")
		if err != nil || tr.port != port {
			t.Errorf("%q: %v %v", u, tr, err)
		}
	}
}
