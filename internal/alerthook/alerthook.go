// Package alerthook posts the owner's alerts to a Slack-compatible
// incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's /slack
// endpoint): POST {"text": …} as JSON. A 2xx is delivered; 429, 5xx, no
// answer or a timeout are worth retrying; another 4xx (a wrong or revoked
// URL, 404 no_service, 410 channel gone) is final.
//
// An alert's subject and text mix our words with words that are not ours
// (a customer's name, a printer's or a mail server's answer), and none of
// ours is markup: both are escaped as Slack asks (&, <, >), so that a
// customer named "<!channel>" or "<https://evil.example|Pay here>" reaches
// the channel as text, mentioning no one and disguising no link. The bold
// subject is the only markup, and it is ours.
package alerthook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
)

// Transport posts to one webhook URL.
type Transport struct {
	URL  string
	HTTP *http.Client
}

var _ messages.HookTransport = (*Transport)(nil)

// New returns a transport for url with a 10-second timeout.
func New(url string) *Transport {
	return &Transport{URL: url, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Post implements messages.HookTransport.
func (t *Transport) Post(ctx context.Context, p messages.HookPost) error {
	text := "*" + escape(p.Subject) + "*\n" + escape(p.Text)
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return apperr.New(apperr.FailedPrecondition, "the alert webhook URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "the alert webhook did not answer")
	}
	defer resp.Body.Close()
	words, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return apperr.New(apperr.Unavailable, "the alert webhook answered %d %s", resp.StatusCode, bytes.TrimSpace(words))
	}
	return apperr.New(apperr.FailedPrecondition, "the alert webhook refused the alert: %d %s", resp.StatusCode, bytes.TrimSpace(words))
}

// escape makes s text in Slack's markup: Slack reads <…> as a mention, a
// link or a command, and &…; as an entity.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// String names the transport without its URL (the URL is a secret).
func (t *Transport) String() string { return fmt.Sprintf("alert webhook (%d-byte URL)", len(t.URL)) }
