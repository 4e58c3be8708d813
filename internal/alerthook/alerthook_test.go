package alerthook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
)

// hook is a Slack-compatible webhook that records the text of each post
// and answers status.
func hook(t *testing.T, status int) (*Transport, *[]string) {
	t.Helper()
	var texts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(body, &p); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("not Slack's JSON: %s %v", body, err)
		}
		texts = append(texts, p.Text)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL), &texts
}

// Text that is not ours (a customer's name, a printer's or a mail
// server's words) reaches Slack as text: its &, < and > are escaped, so
// that it can neither mention a channel nor disguise a link. Our own
// markup (the subject in bold) stays markup.
func TestPostEscapesSlackMarkup(t *testing.T) {
	tr, texts := hook(t, http.StatusOK)
	name := `<!channel> <https://evil.example/pay|Verify the payment here> & co`
	p := messages.HookPost{Key: "k", Subject: "Order K7Q2M9XH4TBA for " + name, Text: "Order K7Q2M9XH4TBA for " + name + " waits for your review."}
	if err := tr.Post(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	escaped := `&lt;!channel&gt; &lt;https://evil.example/pay|Verify the payment here&gt; &amp; co`
	want := "*Order K7Q2M9XH4TBA for " + escaped + "*\nOrder K7Q2M9XH4TBA for " + escaped + " waits for your review."
	if len(*texts) != 1 || (*texts)[0] != want {
		t.Errorf("posted %q,\nwant %q", *texts, want)
	}
}

// The webhook's answer is classified: 2xx delivered, 429 and 5xx worth
// retrying, another 4xx final.
func TestPostClassifiesAnswers(t *testing.T) {
	for status, want := range map[int]apperr.Code{200: "", 204: "", 429: apperr.Unavailable, 503: apperr.Unavailable, 404: apperr.FailedPrecondition, 410: apperr.FailedPrecondition} {
		tr, _ := hook(t, status)
		if got := apperr.CodeOf(tr.Post(context.Background(), messages.HookPost{Subject: "s", Text: "t"})); got != want {
			t.Errorf("%d: %q, want %q", status, got, want)
		}
	}
}
