package storefront

import (
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
)

// ErrorCase is one error a callable may answer: its status, its stable
// reason (details.reason), when it happens, and the details fields that
// come with it besides reason. docs/api.md has one table row per case
// (TestErrorTablesAreDocumented) and a test provokes every one
// (TestErrorTableWalk).
type ErrorCase struct {
	Status  apperr.Code
	Reason  string
	When    string
	Details []string // other fields of details: "field", "max", "lines", …
}

// ErrorDetails is the details object of every error a callable answers.
// reason is always there; the others come with the reasons that say so.
type ErrorDetails struct {
	Reason string `json:"reason"`
	// Field is the request field at fault, a path under data
	// ("address.postalCode").
	Field string `json:"field,omitempty"`
	// Fields are every bad field of an address (bad_address).
	Fields []string `json:"fields,omitempty"`
	// Max is the limit that was passed (too_long, too_many_lines).
	Max int64 `json:"max,omitempty"`
	// State is where the order is (order_not_pending).
	State order.State `json:"state,omitempty"`
	// Lines are every bad cart line (bad_lines).
	Lines []pricing.LineProblem `json:"lines,omitempty"`
	// Unavailable are every short stock line (out_of_stock).
	Unavailable []inventory.Shortage `json:"unavailable,omitempty"`
}

// LineReasons are the reasons of details.lines[].reason.
var LineReasons = []string{pricing.LineNoSKU, pricing.LineMalformedSKU, pricing.LineBadQuantity, pricing.LineUnknownSKU,
	pricing.LineInactive, pricing.LineWrongCurrency, pricing.LineOverMax, pricing.LineMalformedEntry}

// Common are the errors any callable may answer, before or around its own
// work.
var Common = []ErrorCase{
	{apperr.Invalid, httpedge.ReasonBadRequest, "not the onCall protocol: not POST, not JSON, a body that is not exactly {\"data\": …}, over 1 MiB", nil},
	{apperr.Invalid, httpedge.ReasonUnknownField, "data has a field the callable does not take (a price, a total, a typo)", []string{"field"}},
	{apperr.Invalid, httpedge.ReasonWrongType, "a field has the wrong JSON type, or data is not an object (null is allowed only where no fields are taken)", []string{"field"}},
	{apperr.Unauthenticated, httpedge.ReasonSignInRequired, "no ID token, where signing in is required (every callable but whoami)", nil},
	{apperr.Unauthenticated, httpedge.ReasonInvalidToken, "an ID token that is not valid (expired, another project, malformed Authorization header); on the owner's callables also one revoked since it was issued, or of a disabled account", nil},
	{apperr.Unauthenticated, httpedge.ReasonAppCheckRequired, "OMS_APPCHECK=enforce and no App Check token", nil},
	{apperr.Unauthenticated, httpedge.ReasonInvalidAppCheck, "an App Check token that is not valid", nil},
	{apperr.PermissionDenied, httpedge.ReasonOriginNotAllowed, "the browser's Origin is not one of OMS_STOREFRONT_ORIGINS", nil},
	{apperr.Aborted, "contention", "too much contention on the order; call again", nil},
	{apperr.Aborted, "canceled", "the call was canceled before it finished (the browser went away)", nil},
	{apperr.Unavailable, "database_unavailable", "Firestore is unavailable; call again later", nil},
	{apperr.DeadlineExceeded, "timeout", "the work did not finish in time; call again", nil},
	{apperr.Internal, httpedge.ReasonInternal, "anything unexpected; the message is just INTERNAL and the cause is logged", nil},
}

// The errors every callable that names an order may answer (besides its
// field errors, which each callable lists with all its fields).
var orderErrors = []ErrorCase{
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order, or it is not the caller's (the answer does not say which)", nil},
	{apperr.FailedPrecondition, order.ReasonNotPending, "the order is no longer pending (authorized, expired, …); state says where it is", []string{"state"}},
}

// The errors of a change to what would be paid while a payment session
// may be open (see "The current payment session" in docs/api.md).
var sessionErrors = []ErrorCase{
	{apperr.FailedPrecondition, "payment_completed", "the customer has just paid the order's open session (in another tab): the order is being authorized as it was paid; nothing changed", nil},
	{apperr.Unavailable, "payment_provider_unavailable", "Stripe is down: the order's open payment session could not be expired; nothing changed, call again", nil},
	{apperr.Aborted, order.ReasonChangingElsewhere, "another tab keeps opening payment sessions for the order; call again", nil},
	{apperr.Aborted, "order_changed", "the order changed in another tab while this call worked; call again", nil},
}

// The errors of a call that works out the order's sales tax (a store
// that collects it: OMS_TAX stripe or table; see "Sales tax" in
// docs/api.md). A change the call made is kept: calling again works the
// tax out.
var taxErrors = []ErrorCase{
	{apperr.Unavailable, "tax_unavailable", "the tax provider is down or answered figures that do not add up: the order has no tax figure yet and cannot be paid; call again", nil},
	{apperr.FailedPrecondition, "tax_address", "the tax provider cannot place the shipping address: check it, or quote and select another", []string{"field"}},
}

var startCheckoutErrors = concat([]ErrorCase{
	{apperr.Invalid, pricing.ReasonEmptyCart, "the cart has no lines", nil},
	{apperr.Invalid, pricing.ReasonTooManyLines, "the cart has more than max lines", []string{"max"}},
	{apperr.Invalid, pricing.ReasonBadLines, "cart lines are bad: lines lists every one with its own reason (LineReason)", []string{"lines"}},
	{apperr.Invalid, "malformed_cart", "carts/{uid} has items that are not a list (written past the rules)", nil},
	{apperr.FailedPrecondition, "out_of_stock", "stock lines are short: unavailable lists every one", []string{"unavailable"}},
}, sessionErrors)

var applyCustomerErrors = concat([]ErrorCase{
	{apperr.Invalid, order.ReasonRequired, "orderId, name or email is missing or blank (field names it)", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not a 12-character order id, email is not a plain address (ann@example.com), or name has control characters", []string{"field"}},
	{apperr.Invalid, order.ReasonTooLong, "name is over 100 characters, or code over 64", []string{"field", "max"}},
}, orderErrors, sessionErrors, taxErrors)

var quoteShippingErrors = concat([]ErrorCase{
	{apperr.Invalid, order.ReasonRequired, "orderId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not a 12-character order id", []string{"field"}},
	{apperr.Invalid, shipping.ReasonBadAddress, "address fields are missing or malformed: fields lists every one (address.cityLocality, …), field the first", []string{"field", "fields"}},
}, orderErrors, []ErrorCase{
	{apperr.Unavailable, "shipping_unavailable", "ShipEngine stays unreachable, failing or rate-limited after retries; nothing stored", nil},
})

var selectShippingErrors = concat([]ErrorCase{
	{apperr.Invalid, order.ReasonRequired, "orderId or rateId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not a 12-character order id", []string{"field"}},
}, orderErrors, []ErrorCase{
	{apperr.FailedPrecondition, "no_quote", "there is no shipping quote yet: call quoteShipping", nil},
	{apperr.FailedPrecondition, "quote_expired", "the quote is older than OMS_QUOTE_TTL: quote again", nil},
	{apperr.FailedPrecondition, "unknown_rate", "rateId is not in the current quote: quote again", nil},
	{apperr.FailedPrecondition, "no_verified_address", "useVerifiedAddress, but ShipEngine matched no address: ship to the address as typed", nil},
}, sessionErrors, taxErrors)

var createPaymentSessionErrors = concat([]ErrorCase{
	{apperr.Invalid, order.ReasonRequired, "orderId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not a 12-character order id", []string{"field"}},
	{apperr.Invalid, "off_storefront", "successUrl or cancelUrl is not on one of OMS_STOREFRONT_ORIGINS", []string{"field"}},
}, orderErrors, []ErrorCase{
	{apperr.FailedPrecondition, "no_customer", "no customer yet: call applyCustomer", nil},
	{apperr.FailedPrecondition, "no_shipping", "no shipping choice yet: call quoteShipping and selectShipping", nil},
	{apperr.FailedPrecondition, "repriced", "a promotion ran out since it was shown: the order was priced again; show the new total, then call again", nil},
	{apperr.FailedPrecondition, "printer_needs_phone", "the order has printed planners and the address has no phone the printer accepts (and the store has none): ask for one, quote and select shipping again", nil},
	{apperr.FailedPrecondition, "printer_cannot_ship", "the order has printed planners and the printer cannot ship them to the address's country (BR, CL, MX: a recipient tax id is needed)", nil},
}, sessionErrors, taxErrors)

// notOwner is every owner callable's refusal of anyone else.
var notOwner = ErrorCase{apperr.PermissionDenied, identity.ReasonNotOwner, "the caller is not the store's owner (no OMS_ADMIN_CLAIM claim)", nil}

var adjustStockErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId, sku or reason is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "sku is not a SKU id, delta is 0 or beyond ±100000, requestId not 8–100 letters, digits, '-' or '_', or reason holds a control character or line break", []string{"field"}},
	requestReused,
	{apperr.Invalid, order.ReasonTooLong, "reason is over 200 characters", []string{"field", "max"}},
	{apperr.NotFound, "unknown_sku", "the SKU has no stock (print on demand, or no such SKU)", nil},
	{apperr.FailedPrecondition, inventory.ReasonBelowHeld, "on hand would fall below what open orders hold (or below 0): onHand and held are the SKU's now", []string{"onHand", "held"}},
}

var markShippedErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId, orderId, partId, carrier or trackingNumber is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, requestId not 8–100 letters, digits, '-' or '_', trackingUrl is not an http(s) URL, or carrier or trackingNumber holds a control character or line break", []string{"field"}},
	requestReused,
	{apperr.Invalid, order.ReasonTooLong, "carrier, trackingNumber or partId is over 100 characters", []string{"field", "max"}},
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.NotFound, "unknown_part", "the order has no part partId", nil},
	{apperr.FailedPrecondition, order.ReasonNotFulfilling, "the order is not fulfilling (not paid yet, canceled, or shipped and this is not the same carrier and tracking again); state says where it is", []string{"state"}},
	{apperr.FailedPrecondition, "not_a_parcel", "the part is the print part: the printer ships it and reports its tracking", nil},
	{apperr.FailedPrecondition, "already_shipped", "the part already shipped with other tracking", nil},
}

var buyLabelErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId or orderId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, or requestId is not 8–100 letters, digits, '-' or '_'", []string{"field"}},
	requestReused,
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.FailedPrecondition, order.ReasonNoParcel, "the order has no parcel: the printer ships all of it", nil},
	{apperr.FailedPrecondition, order.ReasonNotFulfilling, "the order is not fulfilling (not paid yet, or canceled, refunded or shipped); state says where it is", []string{"state"}},
	{apperr.FailedPrecondition, order.ReasonLabelExists, "the parcel has a good label: void it first to buy another", []string{"labelId", "trackingNumber"}},
	{apperr.FailedPrecondition, order.ReasonBadPartMove, "the parcel is past needing a label (shipped by hand, canceled); status says where it is", []string{"status"}},
	{apperr.FailedPrecondition, order.ReasonServiceGone, "the carrier service the customer chose is not offered for the parcel any more: ship it another way and record it with markShipped", nil},
	{apperr.FailedPrecondition, order.ReasonLabelRefused, "ShipEngine refused the purchase (no funds, the carrier refused the address, …): the message is ShipEngine's; nothing was bought", nil},
	{apperr.Unavailable, order.ReasonLabelInFlight, "a purchase for the parcel is in flight (another tab, or one whose answer was lost): try again in a moment; nothing is bought twice", nil},
	{apperr.Unavailable, "label_outcome_unknown", "ShipEngine failed or did not answer and no label was found: try again; the purchase is looked for before anything is bought", nil},
	{apperr.Unavailable, "shipping_unavailable", "ShipEngine is unavailable or busy: try again in a moment", nil},
}

var voidLabelErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId or orderId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, or requestId is not 8–100 letters, digits, '-' or '_'", []string{"field"}},
	requestReused,
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.FailedPrecondition, order.ReasonNoParcel, "the order has no parcel", nil},
	{apperr.FailedPrecondition, order.ReasonNoLabel, "the parcel has no good label to void", nil},
	{apperr.FailedPrecondition, order.ReasonLabelScanned, "the carrier has the parcel (status says where it is): too late to void", []string{"status"}},
	{apperr.FailedPrecondition, order.ReasonLabelRefused, "ShipEngine would not void the label (its words)", nil},
	{apperr.Unavailable, order.ReasonLabelInFlight, "a purchase for the parcel is in flight: try again in a moment", nil},
	{apperr.Unavailable, "shipping_unavailable", "ShipEngine is unavailable or busy: try again in a moment", nil},
}

// requestReused is every owner command's answer to a request id used
// before for another command or other input.
var requestReused = ErrorCase{apperr.Invalid, order.ReasonRequestReused, "requestId was used before for another command or other input: use a new id for a new act", []string{"field"}}

var retryOrderErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId or orderId is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, or requestId is not 8–100 letters, digits, '-' or '_'", []string{"field"}},
	requestReused,
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.FailedPrecondition, "order_not_needing_attention", "the order does not need attention; state says where it is", []string{"state"}},
}

var cancelOrderErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId, orderId or reason is missing or blank", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, requestId not 8–100 letters, digits, '-' or '_', or reason holds a control character or line break", []string{"field"}},
	requestReused,
	{apperr.Invalid, order.ReasonTooLong, "reason is over 500 characters", []string{"field", "max"}},
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.FailedPrecondition, "not_paid", "the order is pending: the customer has not paid, and it expires by itself", nil},
	{apperr.FailedPrecondition, "part_shipped", "the order is charged and part of it has shipped: refund it instead", nil},
	{apperr.FailedPrecondition, "in_production", "the order is charged and the printer has started its job: refund it once it ships; printerStatus says where the job is", []string{"printerStatus"}},
	{apperr.FailedPrecondition, "not_cancelable", "the order ended (expired, shipped, refunded); state says where it is", []string{"state"}},
	{apperr.Unavailable, "printer_unavailable", "the printer could not be asked to cancel the job; try again", nil},
	{apperr.Unavailable, "payment_provider_unavailable", "Stripe could not be asked whether the card was charged (the cancel decides from it); nothing changed, try again", nil},
}

var refundOrderErrors = []ErrorCase{
	notOwner,
	{apperr.Invalid, order.ReasonRequired, "requestId, orderId or reason is missing or blank, or amount is missing or null without full: true (nothing left out means everything)", []string{"field"}},
	{apperr.Invalid, order.ReasonMalformed, "orderId is not an order id, requestId not 8–100 letters, digits, '-' or '_', or reason holds a control character or line break", []string{"field"}},
	requestReused,
	{apperr.Invalid, order.ReasonTooLong, "reason is over 500 characters", []string{"field", "max"}},
	{apperr.Invalid, order.ReasonAmountInvalid, "amount is not a positive whole number of minor units (0 is not everything: ask for full: true)", []string{"field"}},
	{apperr.Invalid, owner.ReasonFullWithAmount, "full: true and an amount: ask for one or the other", []string{"field"}},
	{apperr.Invalid, order.ReasonAmountTooLarge, "amount is more than is left to refund (refundable)", []string{"field", "refundable"}},
	{apperr.NotFound, order.ReasonOrderNotFound, "no such order", nil},
	{apperr.FailedPrecondition, order.ReasonNotCaptured, "the card was not charged: cancel the order instead; state says where it is", []string{"state"}},
	{apperr.FailedPrecondition, order.ReasonFullyRefunded, "everything charged is refunded already", nil},
	{apperr.FailedPrecondition, order.ReasonTooManyRefunds, "the order has 20 refunds, the most one takes", nil},
	{apperr.FailedPrecondition, order.ReasonPossibleDuplicate, "a refund of the same amount was asked for under another requestId within the last minute: send confirmDuplicate: true if a second one is meant", []string{"refund", "amount"}},
	{apperr.Unavailable, "payment_provider_unavailable", "Stripe could not be asked for the charge's refunds (what is left counts those made in its dashboard); nothing changed, try again", nil},
}

func concat(lists ...[]ErrorCase) []ErrorCase {
	var out []ErrorCase
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
