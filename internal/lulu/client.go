// Package lulu is the client of Lulu's Print API (the printer that prints
// and ships the planners): OAuth client-credentials tokens cached until
// they expire, print jobs (create, find by external id, read, cancel),
// webhook signatures. It implements fulfilment.Printer. Facts it relies
// on: reference/lulu.md (Lulu's OpenAPI description).
package lulu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/fulfilment"
)

// TokenPath is the OAuth token endpoint, on the API's host.
const TokenPath = "/auth/realms/glasstree/protocol/openid-connect/token"

// ReasonRefused is the FAILED_PRECONDITION reason of a job the printer
// refused (a 400 with its field errors): the order needs the owner.
const ReasonRefused = "printer_refused"

// ReasonUnavailable is the UNAVAILABLE reason when the printer is down,
// throttled or slow after the client's retries.
const ReasonUnavailable = "printer_unavailable"

// Options configure a Client.
type Options struct {
	BaseURL string // https://api.lulu.com, https://api.sandbox.lulu.com, or the local printer
	Key     string // the client key
	Secret  string // the client secret (also the webhooks' signing key)
	HTTP    *http.Client
	Now     func() time.Time
	// Backoff is the pause before the first retry (doubled each time);
	// 300 ms when 0.
	Backoff time.Duration
}

// Client calls Lulu's Print API.
type Client struct {
	o       Options
	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ fulfilment.Printer = (*Client)(nil)

// New returns a client.
func New(o Options) *Client {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff <= 0 {
		o.Backoff = 300 * time.Millisecond
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return &Client{o: o}
}

// accessToken returns a cached token, or a new one when there is none or
// it expires within a minute (fresh: always a new one).
func (c *Client) accessToken(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.token != "" && c.o.Now().Add(time.Minute).Before(c.expires) {
		return c.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.o.BaseURL+TokenPath, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(c.o.Key, c.o.Secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.o.HTTP.Do(req)
	if err != nil {
		return "", apperr.Wrap(err, apperr.Unavailable, "the printer's token endpoint is unreachable").Because(ReasonUnavailable)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		if resp.StatusCode >= 500 || resp.StatusCode == 429 {
			return "", apperr.New(apperr.Unavailable, "the printer's token endpoint answered %d", resp.StatusCode).Because(ReasonUnavailable)
		}
		return "", apperr.New(apperr.FailedPrecondition, "the printer refused the API keys (%d): %s", resp.StatusCode, strings.TrimSpace(string(body))).
			Because("printer_keys_refused")
	}
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("lulu token: unreadable answer %q", body)
	}
	c.token, c.expires = t.AccessToken, c.o.Now().Add(time.Duration(t.ExpiresIn)*time.Second)
	return c.token, nil
}

// apiError is a Lulu error answer: field-keyed lists on a 400, detail
// otherwise.
type apiError struct {
	Status int
	Words  string
}

func (e *apiError) Error() string { return fmt.Sprintf("lulu %d: %s", e.Status, e.Words) }

// words flattens Lulu's field-keyed errors ({"shipping_address":
// {"phone_number": ["…"]}}) into "shipping_address.phone_number: …",
// sorted, so that the owner reads the printer's own words.
func words(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return strings.TrimSpace(string(body))
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" && k != "detail" {
					p = path + "." + k
				} else if k == "detail" {
					p = path
				}
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(path, e)
			}
		default:
			if path == "" {
				out = append(out, fmt.Sprint(x))
			} else {
				out = append(out, path+": "+fmt.Sprint(x))
			}
		}
	}
	walk("", v)
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// do sends a request with the bearer token: a 401 gets a new token once;
// 5xx, 429 and network failures are retried (3 attempts in all, backing
// off); a 400 is the printer's refusal (FAILED_PRECONDITION with its
// words); a 404 NOT_FOUND. A POST creates (Lulu takes no idempotency
// key): after a network failure or a 5xx it may have created already, so
// it is not sent again but answered UNAVAILABLE, for the caller to look
// the job up by its external id first; only a 429 or a 401, which the
// printer refused before acting, sends it again.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	fresh := false
	var last error
	pause := c.o.Backoff
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return apperr.Wrap(ctx.Err(), apperr.Unavailable, "the printer did not answer in time").Because(ReasonUnavailable)
			case <-time.After(pause):
			}
			pause *= 2
		}
		token, err := c.accessToken(ctx, fresh)
		if err != nil {
			if apperr.CodeOf(err) == apperr.Unavailable {
				last = err
				continue
			}
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.o.BaseURL+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := c.o.HTTP.Do(req)
		if err != nil && method == http.MethodPost {
			return apperr.Wrap(err, apperr.Unavailable, "the printer's answer was lost; it may have acted").Because(ReasonUnavailable)
		}
		if err != nil {
			last = err
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == 401 && !fresh:
			fresh = true // the token was revoked or expired early: a new one, once
			attempt--
			continue
		case resp.StatusCode >= 500 && method == http.MethodPost:
			e := &apiError{resp.StatusCode, words(data)}
			return apperr.Wrap(e, apperr.Unavailable, "the printer failed (%d); it may have acted", resp.StatusCode).Because(ReasonUnavailable)
		case resp.StatusCode >= 500 || resp.StatusCode == 429:
			last = &apiError{resp.StatusCode, words(data)}
			continue
		case resp.StatusCode == 400:
			e := &apiError{resp.StatusCode, words(data)}
			return apperr.Wrap(e, apperr.FailedPrecondition, "the printer refused the job: %s", e.Words).Because(ReasonRefused)
		case resp.StatusCode == 404:
			return apperr.Wrap(&apiError{404, words(data)}, apperr.NotFound, "the printer has no such job").Because("unknown_job")
		case resp.StatusCode >= 300:
			e := &apiError{resp.StatusCode, words(data)}
			return apperr.Wrap(e, apperr.FailedPrecondition, "the printer answered %d: %s", resp.StatusCode, e.Words).Because(ReasonRefused)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("lulu %s %s: unreadable answer: %w", method, path, err)
		}
		return nil
	}
	return apperr.Wrap(last, apperr.Unavailable, "the printer is unavailable: %v", last).Because(ReasonUnavailable)
}

// job is a print job as Lulu answers it (the fields this project reads).
type job struct {
	ID         json.Number `json:"id"`
	ExternalID string      `json:"external_id"`
	Status     struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Changed string `json:"changed"`
	} `json:"status"`
	LineItems []struct {
		TrackingID   string          `json:"tracking_id"`
		TrackingURLs json.RawMessage `json:"tracking_urls"` // a list, or a string
		CarrierName  string          `json:"carrier_name"`
	} `json:"line_items"`
}

func (j job) printJob() fulfilment.PrintJob {
	p := fulfilment.PrintJob{ID: j.ID.String(), ExternalID: j.ExternalID, Status: j.Status.Name, StatusMessage: j.Status.Message}
	if t, err := time.Parse(time.RFC3339Nano, j.Status.Changed); err == nil {
		p.Changed = t
	} else if t, err := time.Parse("2006-01-02T15:04:05.999999", j.Status.Changed); err == nil {
		p.Changed = t // Lulu writes its times without a zone (UTC)
	}
	for _, li := range j.LineItems {
		if li.TrackingID == "" {
			continue
		}
		p.Carrier, p.TrackingNumber = li.CarrierName, li.TrackingID
		var list []string
		var one string
		if json.Unmarshal(li.TrackingURLs, &list) == nil && len(list) > 0 {
			p.TrackingURL = list[0]
		} else if json.Unmarshal(li.TrackingURLs, &one) == nil {
			p.TrackingURL = one
		}
		break
	}
	return p
}

// FindJob implements fulfilment.Printer: Lulu documents no external_id
// filter, so it searches for the id and matches external_id exactly; a
// job that ended without printing (rejected, canceled, error) is not the
// order's live job.
func (c *Client) FindJob(ctx context.Context, externalID string) (*fulfilment.PrintJob, error) {
	var page struct {
		Results []job `json:"results"`
	}
	if err := c.do(ctx, "GET", "/print-jobs/?search="+neturl.QueryEscape(externalID), nil, &page); err != nil {
		return nil, err
	}
	for _, j := range page.Results {
		if j.ExternalID == externalID && !ended(j.Status.Name) {
			p := j.printJob()
			return &p, nil
		}
	}
	return nil, nil
}

// ended reports whether a job ended without printing (rejected, canceled,
// failed): an order retried after one gets a new job.
func ended(status string) bool {
	return status == fulfilment.JobRejected || status == fulfilment.JobCanceled || status == fulfilment.JobError
}

// CreateJob implements fulfilment.Printer.
func (c *Client) CreateJob(ctx context.Context, r fulfilment.PrintJobRequest) (fulfilment.PrintJob, error) {
	type source struct {
		SourceURL string `json:"source_url"`
	}
	type item struct {
		ExternalID string `json:"external_id"`
		Title      string `json:"title"`
		Quantity   int64  `json:"quantity"`
		Printable  struct {
			PodPackageID string `json:"pod_package_id"`
			Cover        source `json:"cover"`
			Interior     source `json:"interior"`
		} `json:"printable_normalization"`
	}
	a := r.Address
	addr := map[string]any{"name": a.Name, "street1": a.Street1, "city": a.City, "country_code": a.CountryCode, "postcode": a.PostCode,
		"phone_number": a.Phone, "email": a.Email}
	if a.Street2 != "" {
		addr["street2"] = a.Street2
	}
	if a.StateCode != "" {
		addr["state_code"] = a.StateCode
	}
	body := map[string]any{"external_id": r.ExternalID, "contact_email": r.ContactEmail, "shipping_level": r.ShippingLevel, "shipping_address": addr}
	var items []item
	for _, l := range r.Lines {
		it := item{ExternalID: l.ExternalID, Title: l.Title, Quantity: l.Quantity}
		it.Printable.PodPackageID, it.Printable.Cover.SourceURL, it.Printable.Interior.SourceURL = l.PodPackageID, l.CoverURL, l.InteriorURL
		items = append(items, it)
	}
	body["line_items"] = items
	var j job
	if err := c.do(ctx, "POST", "/print-jobs/", body, &j); err != nil {
		return fulfilment.PrintJob{}, err
	}
	return j.printJob(), nil
}

// Job implements fulfilment.Printer.
func (c *Client) Job(ctx context.Context, id string) (fulfilment.PrintJob, error) {
	var j job
	if err := c.do(ctx, "GET", "/print-jobs/"+neturl.PathEscape(id)+"/", nil, &j); err != nil {
		return fulfilment.PrintJob{}, err
	}
	return j.printJob(), nil
}

// CancelJob implements fulfilment.Printer.
func (c *Client) CancelJob(ctx context.Context, id string) (fulfilment.PrintJob, error) {
	if err := c.do(ctx, "PUT", "/print-jobs/"+neturl.PathEscape(id)+"/status/", map[string]string{"name": "CANCELED"}, nil); err != nil {
		return fulfilment.PrintJob{}, err
	}
	return c.Job(ctx, id)
}

// ErrBadSignature is the error of a webhook whose Lulu-HMAC-SHA256 does not
// match its body.
var ErrBadSignature = errors.New("the Lulu-HMAC-SHA256 signature does not match the body")

// webhook is a webhook subscription as Lulu answers it: its id is a UUID
// string.
type webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Topics []string `json:"topics"`
	Active bool     `json:"is_active"`
}

// StatusTopic is the webhook topic of print jobs' status changes.
const StatusTopic = "PRINT_JOB_STATUS_CHANGED"

// maxWebhookPages bounds the listing of subscriptions (Lulu pages them).
const maxWebhookPages = 20

// Subscribe makes url receive the printer's PRINT_JOB_STATUS_CHANGED
// deliveries and returns the subscription's id. Lulu subscribes a URL
// once (a second POST of it is refused), so it lists the subscriptions
// first: one of url already is reused, and updated (PATCH) when it lacks
// the topic or was deactivated (Lulu deactivates a webhook after five
// failed deliveries in a row); only a URL not subscribed yet is
// subscribed (POST). Running it again is harmless.
func (c *Client) Subscribe(ctx context.Context, url string) (string, error) {
	path := "/webhooks/"
	for page := 0; path != "" && page < maxWebhookPages; page++ {
		var list struct {
			Next    *string   `json:"next"`
			Results []webhook `json:"results"`
		}
		if err := c.do(ctx, "GET", path, nil, &list); err != nil {
			return "", fmt.Errorf("list the printer's webhooks: %w", err)
		}
		for _, w := range list.Results {
			if w.URL != url {
				continue
			}
			if w.Active && slices.Contains(w.Topics, StatusTopic) {
				return w.ID, nil
			}
			topics := w.Topics
			if !slices.Contains(topics, StatusTopic) {
				topics = append(topics, StatusTopic)
			}
			var updated webhook
			if err := c.do(ctx, "PATCH", "/webhooks/"+neturl.PathEscape(w.ID)+"/", map[string]any{"topics": topics, "is_active": true}, &updated); err != nil {
				return "", fmt.Errorf("update the printer's webhook %s: %w", w.ID, err)
			}
			return w.ID, nil
		}
		path = ""
		if list.Next != nil {
			path = c.sameHost(*list.Next)
		}
	}
	var w webhook
	if err := c.do(ctx, "POST", "/webhooks/", map[string]any{"topics": []string{StatusTopic}, "url": url}, &w); err != nil {
		return "", err
	}
	if w.ID == "" {
		return "", errors.New("lulu: the subscription was answered without an id")
	}
	return w.ID, nil
}

// sameHost returns the path and query of a page link on the API's host
// ("" for a link elsewhere, which is not followed).
func (c *Client) sameHost(link string) string {
	u, err := neturl.Parse(link)
	base, _ := neturl.Parse(c.o.BaseURL)
	if err != nil || base == nil || (u.Host != "" && u.Host != base.Host) {
		return ""
	}
	return strings.TrimPrefix(u.RequestURI(), strings.TrimRight(base.Path, "/"))
}
