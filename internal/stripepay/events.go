package stripepay

import (
	"errors"
	"time"

	"github.com/readyplanner/oms/internal/payments"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Tolerance is how old a signed webhook may be.
const Tolerance = 300 * time.Second

// ParseEvent verifies Stripe-Signature over the raw payload with the
// endpoint's secret (HMAC-SHA256, constant-time compare, at most Tolerance
// old) and reduces the event to the fields that are stable across API
// versions — so an endpoint on another API version works, and the objects
// themselves are re-read through this project's pinned version. The error
// says which check failed, in words the sender can act on (the webhook
// shows it): a signed event always has an id, a type and data.object.
func ParseEvent(payload []byte, header, secret string) (payments.Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret,
		webhook.ConstructEventOptions{Tolerance: Tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrNotSigned):
			return payments.Event{}, errors.New("no Stripe-Signature header")
		case errors.Is(err, webhook.ErrTooOld):
			return payments.Event{}, errors.New("the signature is older than 300 s")
		case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrInvalidHeader):
			return payments.Event{}, errors.New("the signature does not match")
		}
		// A signed body that does not decode: stripe-go's error quotes
		// encoding/json's, which is no help to the sender.
		return payments.Event{}, errors.New("the body is not a Stripe event (a JSON object with id, type, created and data.object)")
	}
	if ev.ID == "" || ev.Type == "" {
		return payments.Event{}, errors.New("the event has no id or no type")
	}
	if ev.Data == nil || ev.Data.Object == nil {
		// An event without data.object dereferenced nil (FuzzStripeEvent).
		return payments.Event{}, errors.New("the event has no data.object")
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
	out := payments.Event{ID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC(), OrderID: str(md, "orderId")}
	switch str(obj, "object") {
	case "checkout.session":
		out.SessionID, out.IntentID = str(obj, "id"), idOf(obj["payment_intent"])
		if ref := str(obj, "client_reference_id"); ref != "" {
			out.OrderID = ref
		}
	case "payment_intent":
		out.IntentID = str(obj, "id")
	case "charge", "refund":
		out.IntentID = idOf(obj["payment_intent"])
	case "dispute":
		out.IntentID, out.DisputeID = idOf(obj["payment_intent"]), str(obj, "id")
	}
	return out, nil
}
