package shipengine

// Labels: buying one from a rate, finding one already bought, voiding one.
//
// A label is bought once. The purchase from a rate (POST
// /v1/labels/rates/{rate_id}) carries nothing of ours — its body is only
// the label's format, layout, download type and display scheme
// (create_label_from_rate_request_body, additionalProperties: false) — so
// the key a client can find the label by afterwards is the rate itself:
// list_labels takes a rate_id filter (GET /v1/labels?rate_id=…). That
// works for the rate the customer chose at checkout, which was quoted
// before the order had an id. A shipment quoted with our own
// external_shipment_id (RatesQuery.ExternalShipmentID) is also found with
// GET /v1/labels/external_shipment_id/{id}.
//
// LabelOnce looks before it buys, one purchase per rate at a time in this
// process; BuyLabel never repeats a purchase whose outcome it did not
// learn (a 5xx or a lost answer): it looks for the label instead. Across
// processes, the caller claims the rate in its own store before buying.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// LabelOptions are how a label is printed.
type LabelOptions struct {
	Format string // "pdf" (default) or "zpl"
	Layout string // "4x6" (default)
}

// Label is a label ShipEngine sold.
type Label struct {
	ID             string
	ShipmentID     string
	TrackingNumber string
	CarrierID      string
	Carrier        string // carrier_code: stamps_com, ups, …
	Service        string // service_code
	Cost           money.Money
	Format         string // pdf, zpl
	DownloadURL    string // the label in Format
	Status         string // processing, completed, error, voided
	TrackingStatus string
	Voided         bool
	VoidedAt       time.Time
	CreatedAt      time.Time
}

// LabelRequest is POST /v1/labels/rates/{rate_id}'s body.
type LabelRequest struct {
	LabelFormat       string `json:"label_format"`
	LabelLayout       string `json:"label_layout"`
	LabelDownloadType string `json:"label_download_type"`
}

// LabelDownload holds a label's download links.
type LabelDownload struct {
	PDF  string `json:"pdf,omitempty"`
	PNG  string `json:"png,omitempty"`
	ZPL  string `json:"zpl,omitempty"`
	Href string `json:"href,omitempty"`
}

// WireLabel is the fields of ShipEngine's label this adapter reads.
type WireLabel struct {
	LabelID        string        `json:"label_id"`
	Status         string        `json:"status"`
	ShipmentID     string        `json:"shipment_id"`
	CreatedAt      string        `json:"created_at"`
	ShipmentCost   Amount        `json:"shipment_cost"`
	InsuranceCost  Amount        `json:"insurance_cost"`
	TrackingNumber string        `json:"tracking_number"`
	CarrierID      string        `json:"carrier_id"`
	CarrierCode    string        `json:"carrier_code"`
	ServiceCode    string        `json:"service_code"`
	Voided         bool          `json:"voided"`
	VoidedAt       *string       `json:"voided_at"`
	LabelFormat    string        `json:"label_format"`
	TrackingStatus string        `json:"tracking_status"`
	LabelDownload  LabelDownload `json:"label_download"`
}

// LabelList is GET /v1/labels's answer.
type LabelList struct {
	Labels []WireLabel `json:"labels"`
	Total  int64       `json:"total"`
	Page   int64       `json:"page"`
	Pages  int64       `json:"pages"`
}

// VoidAnswer is PUT /v1/labels/{label_id}/void's answer.
type VoidAnswer struct {
	Approved bool   `json:"approved"`
	Message  string `json:"message"`
}

// ReasonLabelRefused is the reason of ShipEngine's refusal to sell or void
// a label; the message is ShipEngine's own.
const ReasonLabelRefused = "label_refused"

// ReasonLabelUnknown is the UNAVAILABLE reason when a purchase's outcome
// is not known (ShipEngine failed or did not answer, and no label for the
// rate was found): looking again later (LabelOnce) settles it.
const ReasonLabelUnknown = "label_outcome_unknown"

func (o LabelOptions) wire() LabelRequest {
	r := LabelRequest{LabelFormat: o.Format, LabelLayout: o.Layout, LabelDownloadType: "url"}
	if r.LabelFormat == "" {
		r.LabelFormat = "pdf"
	}
	if r.LabelLayout == "" {
		r.LabelLayout = "4x6"
	}
	return r
}

// BuyLabel buys a label from a rate (POST /v1/labels/rates/{rate_id}),
// once: a rate-limited purchase (429, which ShipEngine did not act on) is
// sent again within the deadline, but after a 5xx, a timeout or a lost
// answer the label is looked for by its rate instead, and UNAVAILABLE
// (ReasonLabelUnknown) answered if none is found. ShipEngine's refusals
// (no funds, a bad address, an unknown or expired rate) are
// INVALID_ARGUMENT (a validation error) or FAILED_PRECONDITION, with
// ShipEngine's message.
func (c *Client) BuyLabel(ctx context.Context, rateID string, o LabelOptions) (Label, error) {
	if rateID == "" {
		return Label{}, apperr.New(apperr.Invalid, "a label is bought from a rate; the rate id is missing")
	}
	o.Format = o.wire().LabelFormat
	body, err := json.Marshal(o.wire())
	if err != nil {
		return Label{}, err
	}
	path := "/v1/labels/rates/" + url.PathEscape(rateID)
	for attempt := 1; ; attempt++ {
		answer, err := c.send(ctx, http.MethodPost, path, body)
		if err == nil {
			var w WireLabel
			if err := json.Unmarshal(answer, &w); err != nil {
				return Label{}, fmt.Errorf("shipengine: %s: decode answer: %w", path, err)
			}
			return labelOf(w, o.Format)
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests {
			wait := max(ae.RetryAfter, 100*time.Millisecond)
			if dl, ok := ctx.Deadline(); attempt < c.attempts && (!ok || time.Until(dl) > wait) {
				select {
				case <-time.After(wait):
					continue
				case <-ctx.Done():
				}
			}
			return Label{}, apperr.Wrap(err, apperr.Unavailable, "ShipEngine is busy; please try again in a moment").Because(ReasonUnavailable)
		}
		if errors.As(err, &ae) && !ae.Temporary() {
			return Label{}, refusal(ae)
		}
		// The outcome is unknown: ShipEngine may have sold the label.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		l, found, ferr := c.LabelForRate(lctx, rateID, o.Format)
		cancel()
		if ferr == nil && found {
			return l, nil
		}
		return Label{}, apperr.Wrap(err, apperr.Unavailable, "the label purchase did not complete; please try again in a moment").Because(ReasonLabelUnknown)
	}
}

// LabelOnce returns the label already bought from the rate, or buys one:
// concurrent calls for the same rate in this process buy at most one.
// bought reports whether this call bought it. A voided label found for the
// rate is returned as it is, not bought again.
func (c *Client) LabelOnce(ctx context.Context, rateID string, o LabelOptions) (l Label, bought bool, err error) {
	unlock := c.buying.lock(rateID)
	defer unlock()
	l, found, err := c.LabelForRate(ctx, rateID, o.wire().LabelFormat)
	if err != nil || found {
		return l, false, err
	}
	l, err = c.BuyLabel(ctx, rateID, o)
	return l, err == nil, err
}

// LabelForRate finds the label bought from a rate (GET
// /v1/labels?rate_id=…): the earliest one not voided, else the latest
// voided one; found is false when there is none. format picks the
// download link ("" for pdf).
func (c *Client) LabelForRate(ctx context.Context, rateID, format string) (l Label, found bool, err error) {
	var out LabelList
	q := url.Values{"rate_id": {rateID}, "sort_dir": {"asc"}, "page_size": {"100"}}
	if err := c.get(ctx, "/v1/labels?"+q.Encode(), &out); err != nil {
		return Label{}, false, err
	}
	var pick *WireLabel
	for i := range out.Labels {
		w := &out.Labels[i]
		if pick == nil || (pick.Voided && (!w.Voided || w.CreatedAt > pick.CreatedAt)) {
			pick = w
		}
	}
	if pick == nil {
		return Label{}, false, nil
	}
	l, err = labelOf(*pick, format)
	return l, err == nil, err
}

// LabelByExternalShipmentID finds the label of the shipment quoted with
// our own external_shipment_id (GET
// /v1/labels/external_shipment_id/{id}); found is false when there is
// none.
func (c *Client) LabelByExternalShipmentID(ctx context.Context, id, format string) (l Label, found bool, err error) {
	var w WireLabel
	err = c.get(ctx, "/v1/labels/external_shipment_id/"+url.PathEscape(id), &w)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return Label{}, false, nil
	}
	if err != nil {
		return Label{}, false, err
	}
	l, err = labelOf(w, format)
	return l, err == nil, err
}

// Label reads a label (GET /v1/labels/{label_id}).
func (c *Client) Label(ctx context.Context, labelID, format string) (Label, error) {
	var w WireLabel
	if err := c.get(ctx, "/v1/labels/"+url.PathEscape(labelID), &w); err != nil {
		return Label{}, refusalOf(err)
	}
	return labelOf(w, format)
}

// VoidLabel voids a label (PUT /v1/labels/{label_id}/void) and returns it
// as it now stands. Voiding a voided label succeeds (a retried void);
// ShipEngine's refusal (approved: false, e.g. the label was used) is
// FAILED_PRECONDITION with its message.
func (c *Client) VoidLabel(ctx context.Context, labelID, format string) (Label, error) {
	var out VoidAnswer
	if err := c.call(ctx, http.MethodPut, "/v1/labels/"+url.PathEscape(labelID)+"/void", nil, &out); err != nil {
		return Label{}, refusalOf(err)
	}
	l, err := c.Label(ctx, labelID, format)
	if err != nil {
		return Label{}, err
	}
	if !out.Approved && !l.Voided {
		return l, apperr.New(apperr.FailedPrecondition, "ShipEngine did not void the label: %s", out.Message).Because(ReasonLabelRefused)
	}
	return l, nil
}

// refusalOf is refusal for ShipEngine's answer to a request it will not
// serve; a failure trying again may mend (5xx, 429: already retried) is
// left as it is (UNAVAILABLE).
func refusalOf(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) && !ae.Temporary() {
		return refusal(ae)
	}
	return err
}

// refusal maps ShipEngine's answer to a request it will not serve: a
// validation error is INVALID_ARGUMENT, anything else (no funds, an
// expired rate, a used label) FAILED_PRECONDITION; the message is
// ShipEngine's own.
func refusal(ae *APIError) error {
	msgs := make([]string, 0, len(ae.Errors))
	code := apperr.FailedPrecondition
	for _, it := range ae.Errors {
		msgs = append(msgs, it.Message)
		if it.ErrorType == "validation" {
			code = apperr.Invalid
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, fmt.Sprintf("HTTP %d", ae.Status))
	}
	return apperr.Wrap(ae, code, "ShipEngine: %s", strings.Join(msgs, "; ")).Because(ReasonLabelRefused)
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.call(ctx, http.MethodGet, path, nil, out)
}

// call sends a request that is safe to repeat (a GET, a void), retrying
// 429 and 5xx as post does, uncached. ShipEngine's own 4xx answers come
// back as *APIError.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	answer, err := c.retry(ctx, method, path, body, "ShipEngine is unavailable right now; please try again in a moment")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("shipengine: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// labelOf converts ShipEngine's label: its cost is shipment_cost plus
// insurance_cost, in cents, exactly.
func labelOf(w WireLabel, format string) (Label, error) {
	cost := money.Money{}
	for _, part := range []Amount{w.ShipmentCost, w.InsuranceCost} {
		if part.Amount == "" {
			continue
		}
		m, err := money.ParseDecimal(part.Amount.String(), part.Currency)
		if err != nil {
			return Label{}, fmt.Errorf("shipengine: label %s: %w", w.LabelID, err)
		}
		if cost, err = cost.Add(m); err != nil {
			return Label{}, fmt.Errorf("shipengine: label %s: %w", w.LabelID, err)
		}
	}
	if format == "" {
		format = w.LabelFormat
	}
	l := Label{ID: w.LabelID, ShipmentID: w.ShipmentID, TrackingNumber: w.TrackingNumber, CarrierID: w.CarrierID, Carrier: w.CarrierCode,
		Service: w.ServiceCode, Cost: cost, Format: format, Status: w.Status, TrackingStatus: w.TrackingStatus, Voided: w.Voided}
	switch format {
	case "zpl":
		l.DownloadURL = w.LabelDownload.ZPL
	case "png":
		l.DownloadURL = w.LabelDownload.PNG
	default:
		l.DownloadURL = w.LabelDownload.PDF
	}
	if l.DownloadURL == "" {
		l.DownloadURL = w.LabelDownload.Href
	}
	if w.VoidedAt != nil {
		l.VoidedAt = deliveryDate(*w.VoidedAt)
	}
	l.CreatedAt = deliveryDate(w.CreatedAt)
	return l, nil
}

// keyLocks is one mutex per key, dropped when unused. The zero value is
// ready.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
