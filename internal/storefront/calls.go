package storefront

import (
	"reflect"
	"time"

	"github.com/readyplanner/oms/internal/shipping"
)

// Call describes one callable: its name, its request and answer types, and
// the errors it may answer. functions/ serves each through Handle with
// these very types, so the contract and the code cannot differ.
type Call[Req, Ans any] struct {
	Name string
	// Doc is one line for the generated declarations.
	Doc string
	// Errors are the errors the callable itself answers, besides Common.
	Errors []ErrorCase
}

// Described is a Call with its types erased, for the generator and the
// documentation tests.
type Described interface {
	CallName() string
	CallDoc() string
	RequestType() reflect.Type
	AnswerType() reflect.Type
	ErrorCases() []ErrorCase
}

// CallName is the callable's name.
func (c Call[Req, Ans]) CallName() string { return c.Name }

// CallDoc is the callable's one-line description.
func (c Call[Req, Ans]) CallDoc() string { return c.Doc }

// RequestType is the type of the request's data.
func (c Call[Req, Ans]) RequestType() reflect.Type { return reflect.TypeFor[Req]() }

// AnswerType is the type of the answer's result.
func (c Call[Req, Ans]) AnswerType() reflect.Type { return reflect.TypeFor[Ans]() }

// ErrorCases are Common followed by the callable's own.
func (c Call[Req, Ans]) ErrorCases() []ErrorCase {
	return append(append([]ErrorCase{}, Common...), c.Errors...)
}

// WhoamiRequest takes no fields: call it with {}.
type WhoamiRequest struct{}

// WhoamiAnswer says what the backend saw of the caller.
type WhoamiAnswer struct {
	SignedIn       bool   `json:"signedIn"`
	UID            string `json:"uid,omitempty"`
	Anonymous      bool   `json:"anonymous"`
	SignInProvider string `json:"signInProvider,omitempty"`
	AppCheck       bool   `json:"appCheck"` // a valid App Check token came with the call
	Project        string `json:"project"`
	Region         string `json:"region"`
	ServerTime     string `json:"serverTime"` // RFC 3339, UTC
}

// StartCheckoutRequest takes no fields: the cart is read from carts/{uid},
// which the storefront keeps in sync. Call it with {}.
type StartCheckoutRequest struct{}

// StartCheckoutAnswer is the pending order holding the cart.
type StartCheckoutAnswer struct {
	Order
	// Reused is true when the same cart was already held by this order
	// (nothing changed), false when the order was created or its lines
	// replaced.
	Reused bool `json:"reused"`
}

// ApplyCustomerRequest is the customer as typed at checkout.
type ApplyCustomerRequest struct {
	OrderID string `json:"orderId"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Code    string `json:"code,omitempty"` // optional promotion code
}

// QuoteShippingRequest is the address the customer typed.
type QuoteShippingRequest struct {
	OrderID string           `json:"orderId"`
	Address shipping.Address `json:"address"`
}

// Rate is one quoted rate. Amount is cents: what the customer pays.
type Rate struct {
	RateID            string `json:"rateId"`
	Carrier           string `json:"carrier"`
	Service           string `json:"service"`
	Amount            int64  `json:"amount"`
	DeliveryDays      int64  `json:"deliveryDays,omitempty"`
	EstimatedDelivery string `json:"estimatedDelivery,omitempty"` // RFC 3339
}

// QuoteShippingAnswer is the address verification and the rates.
type QuoteShippingAnswer struct {
	Status          string            `json:"status"` // verified, warning, unverified, error
	VerifiedAddress *shipping.Address `json:"verifiedAddress"`
	Differs         bool              `json:"differs"`
	Differences     []string          `json:"differences"`
	Messages        []string          `json:"messages"`
	Currency        string            `json:"currency"`
	Rates           []Rate            `json:"rates"`
	ExpiresAt       string            `json:"expiresAt"` // RFC 3339
}

// SelectShippingRequest names a quoted rate (never a price) and whether to
// ship to the verified address.
type SelectShippingRequest struct {
	OrderID string `json:"orderId"`
	RateID  string `json:"rateId"`
	// UseVerifiedAddress ships to ShipEngine's match (keeping the name as
	// typed); false or absent ships to the address as typed.
	UseVerifiedAddress bool `json:"useVerifiedAddress,omitempty"`
}

// CreatePaymentSessionRequest names the order and, optionally, where Stripe
// sends the customer back (both must be on a storefront origin).
type CreatePaymentSessionRequest struct {
	OrderID    string `json:"orderId"`
	SuccessURL string `json:"successUrl,omitempty"`
	CancelURL  string `json:"cancelUrl,omitempty"`
}

// CreatePaymentSessionAnswer is where the customer pays.
type CreatePaymentSessionAnswer struct {
	SessionID string `json:"sessionId"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"` // RFC 3339; the holds last as long
	Currency  string `json:"currency"`
	Total     int64  `json:"total"` // cents: what the card is authorized for (the order's total)
}

// AdjustStockRequest is the owner's change of a SKU's stock on hand.
type AdjustStockRequest struct {
	RequestID string `json:"requestId"` // as RetryOrderRequest's: the same id again adjusts nothing more
	SKU       string `json:"sku"`
	// Delta is added to what is on hand: positive to restock, negative for
	// damage or a count correction (−100000 to 100000, not 0).
	Delta int64 `json:"delta"`
	// Reason is why, for the stock ledger (1–200 characters on one line).
	Reason string `json:"reason"`
}

// StockLevel is a SKU's stock after a change.
type StockLevel struct {
	SKU       string `json:"sku"`
	OnHand    int64  `json:"onHand"`
	Held      int64  `json:"held"`      // held by open orders
	Available int64  `json:"available"` // onHand − held
}

// MarkShippedRequest is the owner's shipment of an order's parcel part.
type MarkShippedRequest struct {
	RequestID      string `json:"requestId"` // as RetryOrderRequest's
	OrderID        string `json:"orderId"`
	PartID         string `json:"partId"`         // "parcel"
	Carrier        string `json:"carrier"`        // 1–100 characters on one line, as the customer should read it ("USPS")
	TrackingNumber string `json:"trackingNumber"` // 1–100 characters on one line
	TrackingURL    string `json:"trackingUrl,omitempty"`
}

// LabelRequest names the order whose parcel's label the owner buys
// (buyLabel) or voids (voidLabel).
type LabelRequest struct {
	RequestID string `json:"requestId"` // as RetryOrderRequest's
	OrderID   string `json:"orderId"`
}

// LabelAnswer is buyLabel's and voidLabel's answer: the order, its
// parcel's label (the good one; the latest voided one after a void) and
// the figures of its labels.
type LabelAnswer struct {
	Order Order        `json:"order"`
	Label *ParcelLabel `json:"label"`
	// FreshRate says the label was bought from a fresh rate for the
	// carrier service the customer chose (the chosen rate was not honoured
	// any more, or was for the whole order while the parcel holds only its
	// stock lines); CostsMore says it cost more than ShippingPaid, what the
	// customer paid for shipping.
	FreshRate    bool  `json:"freshRate"`
	ShippingPaid int64 `json:"shippingPaid"`
	CostsMore    bool  `json:"costsMore"`
	// LabelCost is what the order's good labels cost; LabelRefunded what
	// its voided labels gave back (minor units).
	LabelCost     int64 `json:"labelCost"`
	LabelRefunded int64 `json:"labelRefunded"`
}

// ParcelLabel is a label bought for a parcel.
type ParcelLabel struct {
	LabelID        string     `json:"labelId"`
	Carrier        string     `json:"carrier"` // as the customer reads it ("USPS")
	Service        string     `json:"service"` // the carrier's service code
	TrackingNumber string     `json:"trackingNumber"`
	TrackingURL    string     `json:"trackingUrl"`
	DownloadURL    string     `json:"downloadUrl"` // the label to print
	Format         string     `json:"format"`      // pdf, zpl
	Cost           int64      `json:"cost"`        // minor units
	BoughtAt       time.Time  `json:"boughtAt"`
	VoidedAt       *time.Time `json:"voidedAt"` // null while it is good
}

// RetryOrderRequest names the order the owner retries.
type RetryOrderRequest struct {
	// RequestID identifies this act (8–100 letters, digits, '-' or '_':
	// a UUID made for each click): the same id again answers the order
	// and changes nothing.
	RequestID string `json:"requestId"`
	OrderID   string `json:"orderId"`
}

// CancelOrderRequest names the order the owner cancels, and why.
type CancelOrderRequest struct {
	RequestID string `json:"requestId"` // as RetryOrderRequest's
	OrderID   string `json:"orderId"`
	Reason    string `json:"reason"` // 1–500 characters on one line, kept in the order's history
}

// RefundOrderRequest is the owner's refund of a charged order.
type RefundOrderRequest struct {
	// RequestID identifies this act: the same id again answers the refund
	// it asked for and refunds nothing more (as RetryOrderRequest's).
	RequestID string `json:"requestId"`
	OrderID   string `json:"orderId"`
	// Amount is what to refund, in minor units (cents). Required unless
	// Full: a missing or null amount never means everything.
	Amount *int64 `json:"amount,omitempty"`
	// Full asks for everything left to refund, with no amount.
	Full   bool   `json:"full,omitempty"`
	Reason string `json:"reason"` // 1–500 characters on one line, kept with the refund and in the order's history
	// ConfirmDuplicate asks for the same amount again within a minute of
	// the last refund of it (otherwise refused as possible_duplicate).
	ConfirmDuplicate bool `json:"confirmDuplicate,omitempty"`
}

// RefundOrderAnswer is the order with the refund asked for; the refund is
// made at Stripe and recorded in QuickBooks by the order's triggers right
// after (order.refunded grows once Stripe made it).
type RefundOrderAnswer struct {
	Order  Order       `json:"order"`
	Refund RefundAsked `json:"refund"`
}

// RefundAsked is a refund as the owner asked for it.
type RefundAsked struct {
	N      int   `json:"n"`      // its number within the order (1, 2, …): Stripe's idempotency key is refund-<orderId>-<n>
	Amount int64 `json:"amount"` // minor units
	// Refundable is what is left to refund after it.
	Refundable int64 `json:"refundable"`
}

// The callables, in the order a checkout calls them; then the owner's.
var (
	Whoami = Call[WhoamiRequest, WhoamiAnswer]{Name: "whoami",
		Doc: "Says who the backend thinks the caller is (checks the storefront's wiring, tokens and App Check). Signing in is optional."}
	StartCheckout = Call[StartCheckoutRequest, StartCheckoutAnswer]{Name: "startCheckout",
		Doc: "Turns the caller's cart (carts/{uid}) into their pending order: prices it, holds its stock.", Errors: startCheckoutErrors}
	ApplyCustomer = Call[ApplyCustomerRequest, Order]{Name: "applyCustomer",
		Doc: "Stores the customer's name and email (and a code) on the pending order and prices it with their promotions.", Errors: applyCustomerErrors}
	QuoteShipping = Call[QuoteShippingRequest, QuoteShippingAnswer]{Name: "quoteShipping",
		Doc: "Verifies the address and quotes shipping rates for the order's package.", Errors: quoteShippingErrors}
	SelectShipping = Call[SelectShippingRequest, Order]{Name: "selectShipping",
		Doc: "Chooses a quoted rate by id and the typed or verified address; answers the order priced with its shipping.", Errors: selectShippingErrors}
	CreatePaymentSession = Call[CreatePaymentSessionRequest, CreatePaymentSessionAnswer]{Name: "createPaymentSession",
		Doc: "Makes the Stripe Checkout Session where the card is authorized (not charged) for the order's total.", Errors: createPaymentSessionErrors}
	AdjustStock = Call[AdjustStockRequest, StockLevel]{Name: "adjustStock",
		Doc: "The owner only (the OMS_ADMIN_CLAIM claim): changes a SKU's stock on hand, never below what open orders hold, with a reason for the stock ledger.", Errors: adjustStockErrors}
	RetryOrder = Call[RetryOrderRequest, Order]{Name: "retryOrder",
		Doc: "The owner only: sends an order that needs attention back to the state whose step failed, so that the step runs again.", Errors: retryOrderErrors}
	CancelOrder = Call[CancelOrderRequest, Order]{Name: "cancelOrder",
		Doc: "The owner only: cancels an order before anything ships (the authorization, invoice, holds and redemptions are released; a charged order's print job is canceled and the charge refunded).", Errors: cancelOrderErrors}
	RefundOrder = Call[RefundOrderRequest, RefundOrderAnswer]{Name: "refundOrder",
		Doc: "The owner only: refunds part or all of a charged order at Stripe and records it in QuickBooks; the order is refunded once its refunds reach the charge.", Errors: refundOrderErrors}
	BuyLabel = Call[LabelRequest, LabelAnswer]{Name: "buyLabel",
		Doc: "The owner only: buys the label of an order's parcel through ShipEngine, once (from the rate the customer chose, or a fresh rate for the same service); the parcel then waits for the carrier's first scan.", Errors: buyLabelErrors}
	VoidLabel = Call[LabelRequest, LabelAnswer]{Name: "voidLabel",
		Doc: "The owner only: voids the label of an order's parcel before the carrier scanned it; its cost comes back and the parcel waits for a label again.", Errors: voidLabelErrors}
	MarkShipped = Call[MarkShippedRequest, Order]{Name: "markShipped",
		Doc: "The owner only: records the carrier and tracking of an order's parcel part; the order is shipped once every part is.", Errors: markShippedErrors}
)

// Calls is every callable.
var Calls = []Described{Whoami, StartCheckout, ApplyCustomer, QuoteShipping, SelectShipping, CreatePaymentSession, AdjustStock, BuyLabel, VoidLabel, MarkShipped,
	RetryOrder, CancelOrder, RefundOrder}
