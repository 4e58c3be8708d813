package order

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
)

// Quote is the latest shipping quote for the order: the address as typed,
// what validation said, and the rates, valid until ExpiresAt.
type Quote struct {
	Address   shipping.Address
	Status    string            // verified, warning, unverified, error
	Verified  *shipping.Address // ShipEngine's match, when there is one
	Messages  []string
	Rates     []shipping.Rate
	QuotedAt  time.Time
	ExpiresAt time.Time
}

// Payment is the order's card payment: the Checkout Session made for a
// pricing revision, then the authorized PaymentIntent.
type Payment struct {
	Revision         int64     // the pricing revision the session was made for
	Attempt          int64     // grows with every planned session: part of its idempotency key
	SessionID        string    // "" until Stripe answered
	URL              string    // where the customer pays
	ExpiresAt        time.Time // the session's expires_at (the holds last as long)
	IntentID         string
	AmountCapturable int64
	CaptureBefore    time.Time
	AmountCaptured   int64
	// AmountRefunded is what the provider refunded of the charge: the
	// order's refunds that succeeded, its own and those made outside.
	AmountRefunded int64
	// CaptureAttempt counts the capture calls that failed without a clear
	// answer (a 5xx, a timeout): the provider replays such an answer for
	// the same key, so the next call uses a new one (CaptureKey).
	// CaptureFailures counts them since the owner last took the order on.
	CaptureAttempt  int
	CaptureFailures int
	// CardBrand and CardLast4 are the authorized card's ("visa", "4242"),
	// for the receipt.
	CardBrand string
	CardLast4 string
	// LapseWarnedAt is when the sweeper flagged that the authorization
	// lapses within a day without a capture (zero: not flagged).
	LapseWarnedAt time.Time
	// SessionClosed records that the current session (SessionID) can no
	// longer be paid: the order expired it at the provider before anything
	// that would be paid changed, or it lapsed. Only an open current
	// session authorizes the order.
	SessionClosed bool
	// Refunds are the owner's refunds after the charge, in order.
	Refunds []Refund
	// Dispute is the customer's dispute of the charge (a chargeback),
	// nil while there is none.
	Dispute *Dispute
	// Strays are authorizations that reached the order by any other way
	// (an old session, a session the order does not know): each is
	// canceled, and how is recorded.
	Strays []StrayPayment
}

// Invoice is the order's invoice in the books.
type Invoice struct {
	ID        string
	DocNumber string
	Total     money.Money
	// Settled says how a canceled order's invoice ended: "voided", or why
	// it was left as it is; "" while it is still to void.
	Settled string
}

// Dispute is a customer's dispute of the charge, as the provider reports
// it.
type Dispute struct {
	ID     string
	Amount int64  // minor units
	Reason string // the provider's (fraudulent, product_not_received, …)
	Status string // the provider's (needs_response, under_review, won, lost, …)
	At     time.Time
}

// ShippingChoice is the rate and address the customer chose; its price
// comes from the stored quote, never from the client.
type ShippingChoice struct {
	Rate    shipping.Rate
	Address shipping.Address
}

// Hold is stock held for the order: quantity of a stock SKU taken out of
// what is available until the order ships or lets it go.
type Hold struct {
	SKU      string
	Quantity int64
}

// Change is one entry of an order's history: a transition, when, by whom and
// why. Entries are only ever appended.
//
// A change whose From and To are the same state is not a transition but
// an action recorded in the history (Note): a refund asked for, a parcel
// shipped.
type Change struct {
	At     time.Time
	From   State
	To     State
	Actor  string // who moved it: "customer", "stripe", "quickbooks", "trigger", "sweeper", "owner"
	Reason string // optional, human-readable
}

// Customer is who the order is for, as they typed it at checkout.
type Customer struct {
	Name  string
	Email string // as typed (trimmed); promotions compare it normalised
	// MailboxKey identifies the mailbox (the normalised email, hashed): it
	// counts per-email redemptions and finds a customer's earlier orders
	// without storing the email in more places.
	MailboxKey string
}

// AppliedPromotion is a promotion that prices the order.
type AppliedPromotion struct {
	ID          string
	Name        string
	Description string // customer-facing
	Discount    money.Money
}

// Pricing is the order's discounts: which promotions apply and how much each
// line and the shipping are discounted. Revision grows with every re-pricing;
// CommittedRevision is the revision whose redemptions were recorded when the
// order went to payment (0: none).
type Pricing struct {
	Revision          int64
	Code              string // as typed, "" for none
	CodeStatus        string // applied, unknown, expired, not_eligible, limit_reached
	CodeReason        string
	Promotions        []AppliedPromotion
	LineDiscounts     []money.Money // one per line, in line order
	ShippingDiscount  money.Money
	CommittedRevision int64
	// Redeemed are the promotions whose redemptions are recorded for this
	// order; RedemptionsReleased records they were given back (expired or
	// canceled order), once.
	Redeemed            []string
	RedemptionsReleased bool
}

// Order is an order as the domain sees it: its priced lines, customer,
// pricing, shipping quote and choice, payment, invoice, stock holds, and
// the order flow's work. Its state and history change only through
// Transition, so that every state change has its history entry and starts
// the work of the state entered.
type Order struct {
	ID        string
	UID       string // the Firebase user who owns it
	Currency  string // ISO 4217, upper case
	CreatedAt time.Time
	UpdatedAt time.Time // stamped by the store on every write
	// StateSince is when the order entered its current state.
	StateSince time.Time
	// Attention is the reason the order needs the owner, set on entering
	// needs_attention and cleared on leaving it.
	Attention string

	Customer *Customer // nil until applyCustomer
	Pricing  Pricing
	Quote    *Quote          // nil until quoteShipping
	Shipping *ShippingChoice // nil until selectShipping
	Payment  *Payment        // nil until createPaymentSession
	Invoice  *Invoice        // nil until the invoice step
	Tax      *Tax            // nil until the tax is worked out (never, with no tax configured)

	// Lines and Subtotal are priced on the server at checkout.
	Lines    []pricing.Line
	Subtotal money.Money
	// CartHash identifies the cart the lines came from, so that checking
	// out the same cart again reuses the order.
	CartHash string
	// Holds are the stock held for the order. HoldExpiresAt is when they
	// lapse while the order is pending; zero once they are firm (the card is
	// authorized). HoldsReleased and StockCommitted record that the holds
	// were given back, or shipped, exactly once.
	Holds          []Hold
	HoldExpiresAt  time.Time
	HoldsReleased  bool
	StockCommitted bool

	// Parts are how the order reaches the customer, recorded when it is
	// paid (fulfilment): a print part, a parcel part, or both.
	Parts []Part

	// Work is what the order flow has done, and still has to do, for the
	// state the order is in.
	Work Work

	// Requests are the owner's latest commands on the order, by request
	// id (Requested, Remember).
	Requests []Request

	state   State
	history []Change
}

// New returns a pending order owned by uid, created at `at`, with the history
// entry of its creation.
func New(id, uid, currency string, at time.Time) (*Order, error) {
	var missing []string
	if strings.TrimSpace(id) == "" {
		missing = append(missing, "id")
	}
	if strings.TrimSpace(uid) == "" {
		missing = append(missing, "uid")
	}
	if len(currency) != 3 {
		missing = append(missing, "currency")
	}
	if len(missing) > 0 {
		return nil, apperr.New(apperr.Invalid, "new order: missing or malformed %s", strings.Join(missing, ", "))
	}
	return &Order{
		ID: id, UID: uid, Currency: strings.ToUpper(currency), CreatedAt: at, UpdatedAt: at, StateSince: at,
		state:   Pending,
		history: []Change{{At: at, To: Pending, Actor: "customer", Reason: "checkout started"}},
		// Pending has no steps in the order flow (orderflow's tests check):
		// its work is complete on creation, so that the creation's event
		// has nothing to write back (one write and one trigger event less).
		Work: Work{State: Pending, Entry: 1, Complete: true},
	}, nil
}

// Restore rebuilds an order from storage. It is for adapters only; it checks
// that the stored state is a known one.
func Restore(o Order, state State, history []Change) (*Order, error) {
	if !state.Valid() {
		return nil, fmt.Errorf("restore order %s: unknown state %q", o.ID, state)
	}
	o.state = state
	o.history = slices.Clone(history)
	if o.Work.State != state {
		// Work recorded for another state (an order stored before the
		// order flow kept it, or restored into another state): the
		// current entry's steps are all still due.
		o.Work = Work{State: state, Entry: len(o.history), Wake: o.Work.Wake}
	}
	return &o, nil
}

// State returns the current state.
func (o *Order) State() State { return o.state }

// History returns a copy of the history, oldest first.
func (o *Order) History() []Change { return slices.Clone(o.history) }

// Note records an action on the order that changes no state (a refund
// asked for, a parcel shipped) in its history, by actor.
func (o *Order) Note(actor, reason string, at time.Time) {
	o.history = append(o.history, Change{At: at, From: o.state, To: o.state, Actor: actor, Reason: reason})
}

// LastTransition returns the history's last state change (its notes
// skipped), and false for an order that never changed state.
func (o *Order) LastTransition() (Change, bool) {
	for i := len(o.history) - 1; i >= 0; i-- {
		if c := o.history[i]; c.From != c.To {
			return c, true
		}
	}
	return Change{}, false
}

// Move asks for a transition. From, when not empty, is what the caller
// believes the current state to be (compare-and-set); leave it empty only
// for transitions that are right from any state the table allows, such as an
// owner's cancel.
type Move struct {
	From   []State
	To     State
	Actor  string
	Reason string
}

// Transition applies m at time `at` and reports whether it changed anything.
//
// The rules, in order:
//   - already in m.To: nothing to do (applied=false, nil).
//   - m.From given and the current state is not in it: if the history shows
//     the order already entered m.To, the transition already happened and
//     was overtaken (applied=false, nil); otherwise FAILED_PRECONDITION.
//   - the table does not allow current → m.To: FAILED_PRECONDITION.
//   - entering needs_attention needs a Reason.
//
// Otherwise the state changes and a history entry is appended.
func (o *Order) Transition(m Move, at time.Time) (applied bool, err error) {
	if !m.To.Valid() {
		return false, apperr.New(apperr.Invalid, "unknown order state %q", m.To)
	}
	cur := o.state
	if cur == m.To {
		return false, nil
	}
	if len(m.From) > 0 && !slices.Contains(m.From, cur) {
		if o.entered(m.To) {
			return false, nil
		}
		return false, apperr.New(apperr.FailedPrecondition,
			"order %s is %s, not %s; cannot move to %s", o.ID, cur, joinStates(m.From), m.To).Because(ReasonBadTransition)
	}
	if !CanMove(cur, m.To) {
		return false, apperr.New(apperr.FailedPrecondition, "order %s is %s and cannot move to %s", o.ID, cur, m.To).Because(ReasonBadTransition)
	}
	if m.To == NeedsAttention && strings.TrimSpace(m.Reason) == "" {
		return false, apperr.New(apperr.Invalid, "moving order %s to needs_attention needs a reason", o.ID)
	}
	if cur == Pending && o.Tax != nil && !o.TaxCurrent() {
		o.Tax = nil // figures for what it is no longer paid for: never counted from here on
	}
	o.state = m.To
	o.UpdatedAt, o.StateSince = at, at
	if m.To == NeedsAttention {
		o.Attention = m.Reason
	} else {
		o.Attention = ""
	}
	if m.To == Authorized {
		o.HoldExpiresAt = time.Time{} // the card is authorized: the holds are firm
	}
	o.history = append(o.history, Change{At: at, From: cur, To: m.To, Actor: m.Actor, Reason: m.Reason})
	o.Work = Work{State: m.To, Entry: len(o.history), Wake: o.Work.Wake}
	if o.LabelToVoid() != nil {
		o.Work.Wake++ // the move left a bought label unused (refunded before the scan): void it
	}
	return true, nil
}

// LinesDiscount is what the promotions take off the lines.
func (o *Order) LinesDiscount() money.Money {
	d := money.New(0, o.Currency)
	for _, ld := range o.Pricing.LineDiscounts {
		d.Amount += ld.Amount
	}
	return d
}

// ShippingAmount is the chosen shipping's price (zero before a choice).
func (o *Order) ShippingAmount() money.Money {
	if o.Shipping == nil {
		return money.New(0, o.Currency)
	}
	return o.Shipping.Rate.Amount
}

// Total is what the customer pays: the lines after discounts plus the
// shipping after its discount plus the tax (TaxAmount).
func (o *Order) Total() money.Money {
	return money.New(o.Subtotal.Amount-o.LinesDiscount().Amount+o.ShippingAmount().Amount-o.Pricing.ShippingDiscount.Amount+o.TaxAmount().Amount, o.Currency)
}

// HoldQuantities returns the holds by SKU.
func (o *Order) HoldQuantities() map[string]int64 {
	q := map[string]int64{}
	for _, h := range o.Holds {
		q[h.SKU] += h.Quantity
	}
	return q
}

func (o *Order) entered(s State) bool {
	for _, c := range o.history {
		if c.To == s {
			return true
		}
	}
	return false
}

func joinStates(ss []State) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}
