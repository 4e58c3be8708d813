// Package order is the order's domain: its states, the one table of allowed
// transitions, and the compare-and-set rule every state change follows. It
// imports no SDK; the Firestore adapter stores it and the order trigger reacts
// to its transitions.
package order

import "slices"

// State is where an order is in its life. The values are stored in Firestore
// and shown to the storefront, so they never change.
type State string

// The states of DESIGN.md's flow, in order, then the side exits.
const (
	Pending        State = "pending"         // created by startCheckout; stock held; not yet paid for
	Authorized     State = "authorized"      // the card is authorized (not charged); holds are firm
	Invoiced       State = "invoiced"        // the QuickBooks invoice exists; the owner reviews it
	Approved       State = "approved"        // the owner recorded the invoice paid; capture is due
	Paid           State = "paid"            // the payment is captured; fulfilment is due
	Fulfilling     State = "fulfilling"      // sent to the printer and/or waiting for the owner to ship
	Shipped        State = "shipped"         // every part has tracking; the order is done
	Refunded       State = "refunded"        // the owner refunded the whole charge; the order is done
	Expired        State = "expired"         // holds or the payment session expired before payment
	Canceled       State = "canceled"        // canceled after checkout; payment canceled, holds released
	NeedsAttention State = "needs_attention" // a step kept failing; the owner decides (see Order.Attention)
)

// States lists every state, in flow order.
var States = []State{Pending, Authorized, Invoiced, Approved, Paid, Fulfilling, Shipped, Refunded, Expired, Canceled, NeedsAttention}

// transitions is the one table of allowed state changes: from → the states it
// may move to. A state with no entry is terminal.
//
// needs_attention may move back to any step state (the owner re-drives the
// step that failed) or to canceled. A charged order (paid, fulfilling,
// shipped, or needing the owner) becomes refunded when the owner's refunds
// reach the charge; a canceled one stays canceled (its payment status says
// refunded). A charged order is canceled (and refunded) only before any of
// it ships and before the printer starts on it (the owner's cancelOrder).
var transitions = map[State][]State{
	Pending:        {Authorized, Expired, Canceled},
	Authorized:     {Invoiced, Canceled, NeedsAttention},
	Invoiced:       {Approved, Canceled, NeedsAttention},
	Approved:       {Paid, Canceled, NeedsAttention},
	Paid:           {Fulfilling, Refunded, Canceled, NeedsAttention},
	Fulfilling:     {Shipped, Refunded, Canceled, NeedsAttention},
	Shipped:        {Refunded},
	NeedsAttention: {Authorized, Invoiced, Approved, Paid, Fulfilling, Refunded, Canceled},
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return len(transitions[s]) == 0 }

// CanMove reports whether the table allows from → to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Next returns the states the table allows after s (a copy).
func Next(s State) []State { return slices.Clone(transitions[s]) }
