package stripepay

import (
	"context"
	"errors"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Tolerance is how old a signed webhook may be.
const Tolerance = 300 * time.Second

// ParseEvent verifies Stripe-Signature over the raw payload with the
// endpoint's secret (HMAC-SHA256, constant-time compare, at most Tolerance
// old) and reduces the event to the fields that are stable across API
// versions — so an endpoint on another API version works, and the objects
// themselves are re-read through this project's pinned version. The error
// says which check failed and is safe to log.
func ParseEvent(payload []byte, header, secret string) (checkout.PaymentEvent, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret,
		webhook.ConstructEventOptions{Tolerance: Tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrNotSigned):
			return checkout.PaymentEvent{}, errors.New("no Stripe-Signature header")
		case errors.Is(err, webhook.ErrTooOld):
			return checkout.PaymentEvent{}, errors.New("the signature is older than 300 s")
		case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrInvalidHeader):
			return checkout.PaymentEvent{}, errors.New("the signature does not match")
		}
		return checkout.PaymentEvent{}, err
	}
	obj := ev.Data.Object
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	idOf := func(v any) string { // an expandable field: an id or an object
		switch t := v.(type) {
		case string:
			return t
		case map[string]any:
			return str(t, "id")
		}
		return ""
	}
	md, _ := obj["metadata"].(map[string]any)
	out := checkout.PaymentEvent{ID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC(), OrderID: str(md, "orderId")}
	switch str(obj, "object") {
	case "checkout.session":
		out.SessionID, out.IntentID = str(obj, "id"), idOf(obj["payment_intent"])
		if ref := str(obj, "client_reference_id"); ref != "" {
			out.OrderID = ref
		}
	case "payment_intent":
		out.IntentID = str(obj, "id")
	case "charge":
		out.IntentID = idOf(obj["payment_intent"])
		if n, ok := obj["amount_refunded"].(float64); ok {
			out.AmountRefunded = int64(n)
		}
	}
	return out, nil
}

// Intents re-reads PaymentIntents.
type Intents struct{ API *client.API }

var _ checkout.IntentReader = Intents{}

// Intent implements checkout.IntentReader, with the authorization's
// deadline from the latest charge.
func (s Intents) Intent(ctx context.Context, id string) (checkout.Intent, error) {
	if id == "" {
		return checkout.Intent{}, apperr.New(apperr.Invalid, "no PaymentIntent id")
	}
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	p.AddExpand("latest_charge")
	pi, err := s.API.PaymentIntents.Get(id, p)
	if err != nil {
		return checkout.Intent{}, classify(err, "read PaymentIntent "+id)
	}
	in := checkout.Intent{ID: pi.ID, Status: string(pi.Status), OrderID: pi.Metadata["orderId"], AmountCapturable: pi.AmountCapturable, AmountReceived: pi.AmountReceived}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil && ch.PaymentMethodDetails.Card.CaptureBefore > 0 {
		in.CaptureBefore = time.Unix(ch.PaymentMethodDetails.Card.CaptureBefore, 0).UTC()
	}
	return in, nil
}
