package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// MailpitEnv names the variable that points at the mailpit binary.
const MailpitEnv = "OMS_MAILPIT"

// FindMailpit returns mailpit: $OMS_MAILPIT, then bin/mailpit in the
// working directory or a parent (make setup installs it there), then
// mailpit on PATH.
func FindMailpit() (string, error) {
	return findTool(MailpitEnv, "mailpit", "github.com/axllent/mailpit")
}

// Mailpit is a running mailpit: a real SMTP server that keeps every
// message it accepts, with an HTTP API to read them back.
type Mailpit struct {
	SMTP string // 127.0.0.1:PORT
	URL  string // http://127.0.0.1:PORT: the API (GET /api/v1/messages, …)
	proc *process
}

// StartMailpit starts mailpit on free loopback ports (SMTP, HTTP, POP3, so
// that it opens nothing on other interfaces), without its update check.
func StartMailpit(ctx context.Context) (*Mailpit, error) {
	bin, err := FindMailpit()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	// --max 0: mailpit keeps every message (by default it prunes all but
	// the newest 500 each minute, which a long run's count of deliveries
	// would read as emails never sent).
	cmd := exec.Command(bin, "--listen", hostPort(ports[0]), "--smtp", hostPort(ports[1]), "--pop3", hostPort(ports[2]),
		"--disable-version-check", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--enable-chaos", "--max", "0")
	p, err := start("mailpit", cmd, nil)
	if err != nil {
		return nil, err
	}
	m := &Mailpit{SMTP: hostPort(ports[1]), URL: "http://" + hostPort(ports[0]), proc: p}
	if err := p.waitReady(ctx, m.URL+"/api/v1/messages", 30*time.Second); err != nil {
		_ = p.stop(time.Second)
		return nil, err
	}
	return m, nil
}

// Fail makes mailpit answer code (400–599) to the next mails' recipients
// (RCPT TO), every time, until Fail(0): a server that refuses for now
// (4xx) or for good (5xx). It affects every sender of this mailpit.
func (m *Mailpit) Fail(ctx context.Context, code int) error {
	prob := 100
	if code == 0 {
		code, prob = 451, 0
	}
	body := fmt.Sprintf(`{"Recipient":{"ErrorCode":%d,"Probability":%d}}`, code, prob)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.URL+"/api/v1/chaos", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("mailpit chaos: %d %s", resp.StatusCode, b)
	}
	return nil
}

// Stop stops mailpit. Safe to call twice.
func (m *Mailpit) Stop() error { return m.proc.stop(2 * time.Second) }

// SMTPURL is the SMTP_URL of this mailpit: plain SMTP on loopback.
func (m *Mailpit) SMTPURL() string { return "smtp://" + m.SMTP }

// MailSummary is a message as mailpit lists it.
type MailSummary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// Mail is one message as mailpit reads it back.
type Mail struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	From      struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"To"`
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// Search returns the messages matching mailpit's query (e.g.
// `to:"ann@example.com" subject:"Receipt"`), newest first.
func (m *Mailpit) Search(ctx context.Context, query string) ([]MailSummary, error) {
	var ans struct {
		Messages []MailSummary `json:"messages"`
	}
	err := m.get(ctx, "/api/v1/search?query="+url.QueryEscape(query), &ans)
	return ans.Messages, err
}

// Message reads one message whole.
func (m *Mailpit) Message(ctx context.Context, id string) (Mail, error) {
	var ans Mail
	err := m.get(ctx, "/api/v1/message/"+url.PathEscape(id), &ans)
	return ans, err
}

func (m *Mailpit) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %d %s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}
