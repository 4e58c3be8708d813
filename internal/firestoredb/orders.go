// Package firestoredb is the Firestore adapter: it owns the storage models
// (with their firestore tags), converts them to and from the domain types,
// and makes every state change one transaction.
package firestoredb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collection names.
const (
	OrdersCollection = "orders"
)

// transactionAttempts is how many times a contended transaction is tried.
// The client's default (5) gives up too soon when tens of writers race for
// one order on the emulator, whose lock waits abort after about 2 s.
const transactionAttempts = 20

// orderDoc is an order as stored in orders/{id}.
type orderDoc struct {
	// The order as the customer's page reads it: the same names and
	// meanings as every callable's answer (storefront.Order;
	// TestOrderViewIsTheDocument compares them).
	OrderID          string         `firestore:"orderId"`
	UID              string         `firestore:"uid"`
	State            string         `firestore:"state"`
	Currency         string         `firestore:"currency"`
	Lines            []lineDoc      `firestore:"lines"`
	Subtotal         int64          `firestore:"subtotal"`
	Discount         int64          `firestore:"discount"`         // off the lines
	Shipping         int64          `firestore:"shipping"`         // the chosen rate's amount, 0 before one is chosen
	ShippingDiscount int64          `firestore:"shippingDiscount"` // off the shipping
	ShippingTax      int64          `firestore:"shippingTax"`      // the shipping's tax (derived)
	Tax              int64          `firestore:"tax"`              // the order's sales tax, lines and shipping (derived)
	Total            int64          `firestore:"total"`            // subtotal − discount + shipping − shippingDiscount + tax (derived)
	Promotions       []appliedDoc   `firestore:"promotions"`
	Code             *codeDoc       `firestore:"code"`
	Customer         *customerDoc   `firestore:"customer"`
	Choice           *choiceDoc     `firestore:"shippingChoice"`
	PaymentStatus    string         `firestore:"paymentStatus"` // derived
	Refunded         int64          `firestore:"refunded"`      // derived: what the provider refunded
	Fulfilment       *fulfilmentDoc `firestore:"fulfilment"`    // null until paid
	HoldExpiresAt    *time.Time     `firestore:"holdExpiresAt"` // when a pending order lapses; null once authorized
	CreatedAt        time.Time      `firestore:"createdAt"`
	UpdatedAt        time.Time      `firestore:"updatedAt"`

	// Internal: the functions' bookkeeping of the order (documented in
	// docs/api.md as what a storefront ignores).
	Attention      string      `firestore:"attention,omitempty"`
	CartHash       string      `firestore:"cartHash,omitempty"`
	Holds          []holdDoc   `firestore:"holds"`
	Pricing        pricingDoc  `firestore:"pricing"`
	Quote          *quoteDoc   `firestore:"shippingQuote"`
	Payment        *paymentDoc `firestore:"payment"`
	Invoice        *invoiceDoc `firestore:"invoice"`
	SalesTax       *taxDoc     `firestore:"salesTax"`
	HoldsReleased  bool        `firestore:"holdsReleased"`
	StockCommitted bool        `firestore:"stockCommitted"`
	Work           workDoc     `firestore:"work"`
	// Internal: the tracking numbers of the parcel's good labels, by
	// which a carrier's tracking event finds its order (array-contains).
	TrackingNumbers []string `firestore:"trackingNumbers,omitempty"`
	// Internal: a part is followed by the carrier's tracking
	// (order.Tracked): the sweeper re-reads it when its webhook is late.
	Tracking bool `firestore:"tracking"`
	// Internal: the owner has a parcel to ship (order.ParcelToShip): the
	// console's start page lists these.
	ToShip bool `firestore:"toShip"`
	// Internal: when the card was first authorized (the order placed),
	// from the history: the console's figures of the day count by it.
	PlacedAt *time.Time `firestore:"placedAt,omitempty"`
	// Internal: when the order was charged (first entered paid) and when
	// its latest refund was made: the day's sales tax collected is read
	// by them.
	PaidAt       *time.Time `firestore:"paidAt,omitempty"`
	LastRefundAt *time.Time `firestore:"lastRefundAt,omitempty"`
	// Internal: the owner's latest commands, by request id.
	Requests   []requestDoc `firestore:"requests,omitempty"`
	History    []changeDoc  `firestore:"history"`
	StateSince *time.Time   `firestore:"stateSince"`
}

type lineDoc struct {
	SKU         string `firestore:"sku"`
	ProductID   string `firestore:"productId"`
	Name        string `firestore:"name"`
	Quantity    int64  `firestore:"quantity"`
	UnitPrice   int64  `firestore:"unitPrice"`
	ListPrice   int64  `firestore:"listPrice"`
	OnSale      bool   `firestore:"onSale"`
	Total       int64  `firestore:"total"`
	Discount    int64  `firestore:"discount"` // what the promotions take off this line
	Tax         int64  `firestore:"tax"`      // the line's sales tax
	TaxCode     string `firestore:"taxCode,omitempty"`
	Fulfillment string `firestore:"fulfillment"`
	WeightGrams int64  `firestore:"weightGrams"`
	QBItem      string `firestore:"quickbooksItem,omitempty"`
}

type customerDoc struct {
	Name       string `firestore:"name"`
	Email      string `firestore:"email"`
	MailboxKey string `firestore:"mailboxKey"`
}

type pricingDoc struct {
	Revision            int64    `firestore:"revision"`
	CommittedRevision   int64    `firestore:"committedRevision"`
	Redeemed            []string `firestore:"redeemed"`
	RedemptionsReleased bool     `firestore:"redemptionsReleased"`
}

// codeDoc is what became of the code the customer typed.
type fulfilmentDoc struct {
	Parts []partDoc `firestore:"parts"`
}

type partDoc struct {
	ID             string        `firestore:"id"`
	Kind           string        `firestore:"kind"`
	Lines          []partLineDoc `firestore:"lines"`
	Status         string        `firestore:"status"`
	Carrier        string        `firestore:"carrier"`
	TrackingNumber string        `firestore:"trackingNumber"`
	TrackingURL    string        `firestore:"trackingUrl"`
	ShippedAt      *time.Time    `firestore:"shippedAt"`
	// Internal: the printer's job and its own status name.
	JobID         string     `firestore:"jobId"`
	PrinterStatus string     `firestore:"printerStatus"`
	SubmitStarted *time.Time `firestore:"submitStarted"`
	CreatedAt     time.Time  `firestore:"createdAt"`
	UpdatedAt     time.Time  `firestore:"updatedAt"`
	// The parcel's labels (internal: the owner's reads show them) and the
	// purchase in flight; the carrier's latest words and times.
	Labels       []labelDoc     `firestore:"labels,omitempty"`
	Buying       *labelClaimDoc `firestore:"buying,omitempty"`
	TrackingNote string         `firestore:"trackingNote,omitempty"`
	TrackedAt    *time.Time     `firestore:"trackedAt,omitempty"`
	DeliveredAt  *time.Time     `firestore:"deliveredAt"`
}

type labelDoc struct {
	ID             string     `firestore:"id"`
	RateID         string     `firestore:"rateId"`
	Carrier        string     `firestore:"carrier"`
	CarrierCode    string     `firestore:"carrierCode"`
	Service        string     `firestore:"service"`
	TrackingNumber string     `firestore:"trackingNumber"`
	TrackingURL    string     `firestore:"trackingUrl"`
	DownloadURL    string     `firestore:"downloadUrl"`
	Format         string     `firestore:"format"`
	Cost           int64      `firestore:"cost"`
	Currency       string     `firestore:"currency"`
	BoughtAt       time.Time  `firestore:"boughtAt"`
	VoidedAt       *time.Time `firestore:"voidedAt"`
	VoidRefused    string     `firestore:"voidRefused,omitempty"`
}

type labelClaimDoc struct {
	Rates      []string  `firestore:"rates"`
	Since      time.Time `firestore:"since"`
	RequestIDs []string  `firestore:"requestIds"`
}

type partLineDoc struct {
	SKU      string `firestore:"sku"`
	Name     string `firestore:"name"`
	Quantity int64  `firestore:"quantity"`
}

type codeDoc struct {
	Code    string `firestore:"code"`
	Status  string `firestore:"status"`
	Message string `firestore:"message,omitempty"`
}

type appliedDoc struct {
	ID          string `firestore:"id"`
	Name        string `firestore:"name"`
	Description string `firestore:"description"`
	Discount    int64  `firestore:"discount"`
}

type addressDoc struct {
	Name          string `firestore:"name"`
	Phone         string `firestore:"phone,omitempty"`
	CompanyName   string `firestore:"companyName,omitempty"`
	AddressLine1  string `firestore:"addressLine1"`
	AddressLine2  string `firestore:"addressLine2,omitempty"`
	AddressLine3  string `firestore:"addressLine3,omitempty"`
	CityLocality  string `firestore:"cityLocality"`
	StateProvince string `firestore:"stateProvince"`
	PostalCode    string `firestore:"postalCode"`
	CountryCode   string `firestore:"countryCode"`
	Residential   string `firestore:"residential,omitempty"`
}

func toAddressDoc(a shipping.Address) addressDoc { return addressDoc(a) }

type rateDoc struct {
	RateID            string     `firestore:"rateId"`
	CarrierID         string     `firestore:"carrierId"`
	Carrier           string     `firestore:"carrier"`
	Service           string     `firestore:"service"`
	ServiceCode       string     `firestore:"serviceCode"`
	Amount            int64      `firestore:"amount"`
	DeliveryDays      int64      `firestore:"deliveryDays"`
	EstimatedDelivery *time.Time `firestore:"estimatedDelivery"`
}

func toRateDoc(r shipping.Rate) rateDoc {
	d := rateDoc{RateID: r.RateID, CarrierID: r.CarrierID, Carrier: r.Carrier, Service: r.Service, ServiceCode: r.ServiceCode,
		Amount: r.Amount.Amount, DeliveryDays: r.DeliveryDays}
	d.EstimatedDelivery = optTime(r.EstimatedDelivery)
	return d
}

func (d rateDoc) rate(currency string) shipping.Rate {
	r := shipping.Rate{RateID: d.RateID, CarrierID: d.CarrierID, Carrier: d.Carrier, Service: d.Service, ServiceCode: d.ServiceCode,
		Amount: money.New(d.Amount, currency), DeliveryDays: d.DeliveryDays}
	r.EstimatedDelivery = timeOf(d.EstimatedDelivery)
	return r
}

type quoteDoc struct {
	Address   addressDoc  `firestore:"address"`
	Status    string      `firestore:"status"`
	Verified  *addressDoc `firestore:"verifiedAddress"`
	Messages  []string    `firestore:"messages"`
	Rates     []rateDoc   `firestore:"rates"`
	QuotedAt  time.Time   `firestore:"quotedAt"`
	ExpiresAt time.Time   `firestore:"expiresAt"`
}

type paymentDoc struct {
	Revision         int64       `firestore:"revision"`
	Attempt          int64       `firestore:"attempt"`
	SessionID        string      `firestore:"sessionId"`
	URL              string      `firestore:"url"`
	ExpiresAt        time.Time   `firestore:"expiresAt"`
	IntentID         string      `firestore:"intentId"`
	AmountCapturable int64       `firestore:"amountCapturable"`
	CaptureBefore    *time.Time  `firestore:"captureBefore"`
	AmountCaptured   int64       `firestore:"amountCaptured"`
	AmountRefunded   int64       `firestore:"amountRefunded"`
	CardBrand        string      `firestore:"cardBrand,omitempty"`
	CardLast4        string      `firestore:"cardLast4,omitempty"`
	LapseWarnedAt    *time.Time  `firestore:"lapseWarnedAt"`
	SessionClosed    bool        `firestore:"sessionClosed"`
	Strays           []strayDoc  `firestore:"strays"`
	Refunds          []refundDoc `firestore:"refunds"`
	// Internal: the capture calls that failed without a clear answer.
	CaptureAttempt  int64       `firestore:"captureAttempt,omitempty"`
	CaptureFailures int64       `firestore:"captureFailures,omitempty"`
	Dispute         *disputeDoc `firestore:"dispute,omitempty"`
}

type disputeDoc struct {
	ID     string    `firestore:"id"`
	Amount int64     `firestore:"amount"`
	Reason string    `firestore:"reason"`
	Status string    `firestore:"status"`
	At     time.Time `firestore:"at"`
}

type refundDoc struct {
	N              int64      `firestore:"n"`
	Amount         int64      `firestore:"amount"`
	Reason         string     `firestore:"reason"`
	Actor          string     `firestore:"actor"`
	At             time.Time  `firestore:"at"`
	ProviderID     string     `firestore:"providerId"`
	RefundedAt     *time.Time `firestore:"refundedAt"`
	ReceiptID      string     `firestore:"receiptId"`
	RecordedAt     *time.Time `firestore:"recordedAt"`
	PaymentFailure string     `firestore:"paymentFailure,omitempty"`
	BooksFailure   string     `firestore:"booksFailure,omitempty"`
	Outside        bool       `firestore:"outside,omitempty"`
	Status         string     `firestore:"status,omitempty"`
	Attempt        int64      `firestore:"attempt,omitempty"` // internal
	TaxDue         bool       `firestore:"taxDue,omitempty"`
	Tax            int64      `firestore:"tax"`
	TaxReversalID  string     `firestore:"taxReversalId,omitempty"`
	TaxAttempt     int64      `firestore:"taxAttempt,omitempty"` // internal
	TaxFailure     string     `firestore:"taxFailure,omitempty"`
}

// taxDoc is the order's sales tax as worked out (internal: the public
// figures are the order's and its lines' tax).
type taxDoc struct {
	Provider      string    `firestore:"provider"`
	Basis         string    `firestore:"basis"`
	CalculationID string    `firestore:"calculationId,omitempty"`
	Lines         []int64   `firestore:"lines"`
	Shipping      int64     `firestore:"shipping"`
	Total         int64     `firestore:"total"`
	Rate          int64     `firestore:"rate,omitempty"`
	Jurisdiction  string    `firestore:"jurisdiction,omitempty"`
	ComputedAt    time.Time `firestore:"computedAt"`
	TransactionID string    `firestore:"transactionId,omitempty"`
	RecordAttempt int64     `firestore:"recordAttempt,omitempty"`
	RecordFailure string    `firestore:"recordFailure,omitempty"`
}

// optTime is a time stored as null when zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// timeOf reads a time stored by optTime.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

type strayDoc struct {
	IntentID   string     `firestore:"intentId"`
	SessionID  string     `firestore:"sessionId"`
	Amount     int64      `firestore:"amount"`
	Reason     string     `firestore:"reason"`
	At         time.Time  `firestore:"at"`
	CanceledAt *time.Time `firestore:"canceledAt"`
	Outcome    string     `firestore:"outcome,omitempty"`
}

// workDoc is the order flow's record of the current state entry. Due is
// derived (order.WorkDue) so that the sweeper can query for it.
type workDoc struct {
	State    string       `firestore:"state"`
	Entry    int64        `firestore:"entry"`
	Done     []string     `firestore:"done"`
	Failed   []failureDoc `firestore:"failed"`
	Complete bool         `firestore:"complete"`
	Wake     int64        `firestore:"wake"`
	Due      bool         `firestore:"due"`
}

type requestDoc struct {
	ID      string    `firestore:"id"`
	Command string    `firestore:"command"`
	Hash    string    `firestore:"hash"`
	Actor   string    `firestore:"actor"`
	At      time.Time `firestore:"at"`
	Refund  int64     `firestore:"refund,omitempty"`
}

type failureDoc struct {
	Step   string    `firestore:"step"`
	Reason string    `firestore:"reason"`
	At     time.Time `firestore:"at"`
}

type invoiceDoc struct {
	ID        string `firestore:"id"`
	DocNumber string `firestore:"docNumber"`
	Total     int64  `firestore:"total"`
	Settled   string `firestore:"settled,omitempty"`
}

type choiceDoc struct {
	rateDoc
	Address addressDoc `firestore:"address"`
}

type holdDoc struct {
	SKU      string `firestore:"sku"`
	Quantity int64  `firestore:"quantity"`
}

type changeDoc struct {
	At     time.Time `firestore:"at"`
	From   string    `firestore:"from,omitempty"`
	To     string    `firestore:"to"`
	Actor  string    `firestore:"actor,omitempty"`
	Reason string    `firestore:"reason,omitempty"`
}

func toDoc(o *order.Order) orderDoc {
	d := orderDoc{OrderID: o.ID, UID: o.UID, State: string(o.State()), Currency: o.Currency, Attention: o.Attention,
		Subtotal: o.Subtotal.Amount, CartHash: o.CartHash, HoldsReleased: o.HoldsReleased, StockCommitted: o.StockCommitted,
		Lines: []lineDoc{}, Holds: []holdDoc{}, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	d.StateSince = optTime(o.StateSince)
	d.HoldExpiresAt = optTime(o.HoldExpiresAt)
	taxes := o.TaxFigures()
	for i, l := range o.Lines {
		ld := lineDoc{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: l.UnitPrice.Amount, ListPrice: l.ListPrice.Amount, OnSale: l.OnSale, Total: l.Total.Amount,
			Fulfillment: string(l.Fulfillment), WeightGrams: l.WeightGrams, QBItem: l.QuickBooksItem, TaxCode: l.TaxCode}
		if i < len(o.Pricing.LineDiscounts) {
			ld.Discount = o.Pricing.LineDiscounts[i].Amount
		}
		if i < len(taxes.Lines) {
			ld.Tax = taxes.Lines[i]
		}
		d.Lines = append(d.Lines, ld)
	}
	for _, h := range o.Holds {
		d.Holds = append(d.Holds, holdDoc{SKU: h.SKU, Quantity: h.Quantity})
	}
	if c := o.Customer; c != nil {
		d.Customer = &customerDoc{Name: c.Name, Email: c.Email, MailboxKey: c.MailboxKey}
	}
	p := o.Pricing
	d.Pricing = pricingDoc{Revision: p.Revision, CommittedRevision: p.CommittedRevision, Redeemed: append([]string{}, p.Redeemed...),
		RedemptionsReleased: p.RedemptionsReleased}
	d.Promotions = []appliedDoc{}
	for _, a := range p.Promotions {
		d.Promotions = append(d.Promotions, appliedDoc{ID: a.ID, Name: a.Name, Description: a.Description, Discount: a.Discount.Amount})
	}
	if p.Code != "" {
		d.Code = &codeDoc{Code: p.Code, Status: p.CodeStatus, Message: p.CodeReason}
	}
	d.Discount, d.Shipping, d.ShippingDiscount = o.LinesDiscount().Amount, o.ShippingAmount().Amount, p.ShippingDiscount.Amount
	d.Tax, d.ShippingTax, d.Total = taxes.Total, taxes.Shipping, o.Total().Amount
	if t := o.Tax; t != nil {
		d.SalesTax = &taxDoc{Provider: t.Provider, Basis: t.Basis, CalculationID: t.CalculationID, Lines: append([]int64{}, t.Figures.Lines...),
			Shipping: t.Figures.Shipping, Total: t.Figures.Total, Rate: t.Figures.Rate, Jurisdiction: t.Figures.Jurisdiction,
			ComputedAt: t.ComputedAt, TransactionID: t.TransactionID, RecordAttempt: int64(t.RecordAttempt),
			RecordFailure: t.RecordFailure}
	}
	for _, c := range o.History() {
		if c.To == order.Authorized {
			d.PlacedAt = optTime(c.At)
			break
		}
	}
	for _, c := range o.History() {
		if c.To == order.Paid && c.From != order.Paid {
			d.PaidAt = optTime(c.At)
			break
		}
	}
	if p := o.Payment; p != nil {
		var last time.Time
		for _, r := range p.Refunds {
			if r.Made() && r.RefundedAt.After(last) {
				last = r.RefundedAt
			}
		}
		d.LastRefundAt = optTime(last)
	}
	d.PaymentStatus, d.Refunded = string(o.PaymentStatus()), o.RefundedTotal()
	if len(o.Parts) > 0 {
		d.Fulfilment = &fulfilmentDoc{}
		for _, p := range o.Parts {
			pd := partDoc{ID: p.ID, Kind: p.Kind, Status: p.Status, Carrier: p.Carrier, TrackingNumber: p.TrackingNumber, TrackingURL: p.TrackingURL,
				JobID: p.JobID, PrinterStatus: p.PrinterStatus, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Lines: []partLineDoc{}}
			pd.ShippedAt = optTime(p.ShippedAt)
			pd.SubmitStarted = optTime(p.SubmitStarted)
			pd.TrackingNote, pd.TrackedAt, pd.DeliveredAt = p.TrackingNote, optTime(p.TrackedAt), optTime(p.DeliveredAt)
			for _, l := range p.Labels {
				pd.Labels = append(pd.Labels, labelDoc{ID: l.ID, RateID: l.RateID, Carrier: l.Carrier, CarrierCode: l.CarrierCode, Service: l.Service,
					TrackingNumber: l.TrackingNumber, TrackingURL: l.TrackingURL, DownloadURL: l.DownloadURL, Format: l.Format,
					Cost: l.Cost.Amount, Currency: l.Cost.Currency, BoughtAt: l.BoughtAt, VoidedAt: optTime(l.VoidedAt), VoidRefused: l.VoidRefused})
				if !l.Voided() {
					d.TrackingNumbers = append(d.TrackingNumbers, l.TrackingNumber)
				}
			}
			if c := p.Buying; c != nil {
				pd.Buying = &labelClaimDoc{Rates: append([]string{}, c.Rates...), Since: c.Since, RequestIDs: append([]string{}, c.RequestIDs...)}
			}
			for _, l := range p.Lines {
				pd.Lines = append(pd.Lines, partLineDoc{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity})
			}
			d.Fulfilment.Parts = append(d.Fulfilment.Parts, pd)
		}
		d.Tracking = len(o.Tracked()) > 0
	}
	d.ToShip = o.ParcelToShip()
	if q := o.Quote; q != nil {
		qd := &quoteDoc{Address: toAddressDoc(q.Address), Status: q.Status, Messages: append([]string{}, q.Messages...), Rates: []rateDoc{},
			QuotedAt: q.QuotedAt, ExpiresAt: q.ExpiresAt}
		if q.Verified != nil {
			v := toAddressDoc(*q.Verified)
			qd.Verified = &v
		}
		for _, r := range q.Rates {
			qd.Rates = append(qd.Rates, toRateDoc(r))
		}
		d.Quote = qd
	}
	if c := o.Shipping; c != nil {
		d.Choice = &choiceDoc{rateDoc: toRateDoc(c.Rate), Address: toAddressDoc(c.Address)}
	}
	if inv := o.Invoice; inv != nil {
		d.Invoice = &invoiceDoc{ID: inv.ID, DocNumber: inv.DocNumber, Total: inv.Total.Amount, Settled: inv.Settled}
	}
	if p := o.Payment; p != nil {
		pd := &paymentDoc{Revision: p.Revision, Attempt: p.Attempt, SessionID: p.SessionID, URL: p.URL, ExpiresAt: p.ExpiresAt, IntentID: p.IntentID,
			AmountCapturable: p.AmountCapturable, AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded,
			CardBrand: p.CardBrand, CardLast4: p.CardLast4}
		pd.CaptureBefore = optTime(p.CaptureBefore)
		pd.LapseWarnedAt = optTime(p.LapseWarnedAt)
		pd.SessionClosed, pd.Strays = p.SessionClosed, []strayDoc{}
		pd.CaptureAttempt, pd.CaptureFailures = int64(p.CaptureAttempt), int64(p.CaptureFailures)
		if dp := p.Dispute; dp != nil {
			pd.Dispute = &disputeDoc{ID: dp.ID, Amount: dp.Amount, Reason: dp.Reason, Status: dp.Status, At: dp.At}
		}
		for _, st := range p.Strays {
			sd := strayDoc{IntentID: st.IntentID, SessionID: st.SessionID, Amount: st.Amount, Reason: st.Reason, At: st.At, Outcome: st.Outcome}
			sd.CanceledAt = optTime(st.CanceledAt)
			pd.Strays = append(pd.Strays, sd)
		}
		pd.Refunds = []refundDoc{}
		for _, r := range p.Refunds {
			pd.Refunds = append(pd.Refunds, refundDoc{N: int64(r.N), Amount: r.Amount, Reason: r.Reason, Actor: r.Actor, At: r.At,
				ProviderID: r.ProviderID, RefundedAt: optTime(r.RefundedAt), ReceiptID: r.ReceiptID, RecordedAt: optTime(r.RecordedAt),
				PaymentFailure: r.PaymentFailure, BooksFailure: r.BooksFailure, Outside: r.Outside, Status: r.Status, Attempt: int64(r.Attempt),
				TaxDue: r.TaxDue, Tax: r.Tax, TaxReversalID: r.TaxReversalID, TaxAttempt: int64(r.TaxAttempt),
				TaxFailure: r.TaxFailure})
		}
		d.Payment = pd
	}
	w := o.Work
	d.Work = workDoc{State: string(w.State), Entry: int64(w.Entry), Done: append([]string{}, w.Done...), Failed: []failureDoc{},
		Complete: w.Complete, Wake: w.Wake, Due: o.WorkDue()}
	for _, f := range w.Failed {
		d.Work.Failed = append(d.Work.Failed, failureDoc{Step: f.Step, Reason: f.Reason, At: f.At})
	}
	for _, r := range o.Requests {
		d.Requests = append(d.Requests, requestDoc{ID: r.ID, Command: r.Command, Hash: r.Hash, Actor: r.Actor, At: r.At, Refund: int64(r.Refund)})
	}
	for _, c := range o.History() {
		d.History = append(d.History, changeDoc{At: c.At, From: string(c.From), To: string(c.To), Actor: c.Actor, Reason: c.Reason})
	}
	return d
}

func fromDoc(id string, d orderDoc) (*order.Order, error) {
	h := make([]order.Change, len(d.History))
	for i, c := range d.History {
		h[i] = order.Change{At: c.At, From: order.State(c.From), To: order.State(c.To), Actor: c.Actor, Reason: c.Reason}
	}
	o := order.Order{ID: id, UID: d.UID, Currency: d.Currency, Attention: d.Attention,
		Subtotal: money.New(d.Subtotal, d.Currency), CartHash: d.CartHash, HoldsReleased: d.HoldsReleased, StockCommitted: d.StockCommitted,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	o.HoldExpiresAt = timeOf(d.HoldExpiresAt)
	if o.StateSince = timeOf(d.StateSince); d.StateSince == nil && len(d.History) > 0 {
		o.StateSince = d.History[len(d.History)-1].At // stored before stateSince was kept
	}
	for _, l := range d.Lines {
		o.Lines = append(o.Lines, pricing.Line{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: money.New(l.UnitPrice, d.Currency), ListPrice: money.New(l.ListPrice, d.Currency), OnSale: l.OnSale,
			Total: money.New(l.Total, d.Currency), Fulfillment: catalog.Fulfillment(l.Fulfillment), WeightGrams: l.WeightGrams, QuickBooksItem: l.QBItem,
			TaxCode: l.TaxCode})
	}
	for _, hd := range d.Holds {
		o.Holds = append(o.Holds, order.Hold{SKU: hd.SKU, Quantity: hd.Quantity})
	}
	if c := d.Customer; c != nil {
		o.Customer = &order.Customer{Name: c.Name, Email: c.Email, MailboxKey: c.MailboxKey}
	}
	if q := d.Quote; q != nil {
		oq := &order.Quote{Address: shipping.Address(q.Address), Status: q.Status, Messages: q.Messages, QuotedAt: q.QuotedAt, ExpiresAt: q.ExpiresAt}
		if q.Verified != nil {
			v := shipping.Address(*q.Verified)
			oq.Verified = &v
		}
		for _, r := range q.Rates {
			oq.Rates = append(oq.Rates, r.rate(d.Currency))
		}
		o.Quote = oq
	}
	if c := d.Choice; c != nil {
		o.Shipping = &order.ShippingChoice{Rate: c.rate(d.Currency), Address: shipping.Address(c.Address)}
	}
	if t := d.SalesTax; t != nil {
		o.Tax = &order.Tax{Provider: t.Provider, Basis: t.Basis, CalculationID: t.CalculationID, ComputedAt: t.ComputedAt, TransactionID: t.TransactionID,
			RecordAttempt: int(t.RecordAttempt), RecordFailure: t.RecordFailure,
			Figures: tax.Figures{Lines: t.Lines, Shipping: t.Shipping, Total: t.Total, Rate: t.Rate, Jurisdiction: t.Jurisdiction}}
	}
	if inv := d.Invoice; inv != nil {
		o.Invoice = &order.Invoice{ID: inv.ID, DocNumber: inv.DocNumber, Total: money.New(inv.Total, d.Currency), Settled: inv.Settled}
	}
	if p := d.Payment; p != nil {
		o.Payment = &order.Payment{Revision: p.Revision, Attempt: p.Attempt, SessionID: p.SessionID, URL: p.URL, ExpiresAt: p.ExpiresAt, IntentID: p.IntentID,
			AmountCapturable: p.AmountCapturable, AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded,
			CardBrand: p.CardBrand, CardLast4: p.CardLast4}
		o.Payment.CaptureBefore = timeOf(p.CaptureBefore)
		o.Payment.LapseWarnedAt = timeOf(p.LapseWarnedAt)
		o.Payment.SessionClosed = p.SessionClosed
		o.Payment.CaptureAttempt, o.Payment.CaptureFailures = int(p.CaptureAttempt), int(p.CaptureFailures)
		if dp := p.Dispute; dp != nil {
			o.Payment.Dispute = &order.Dispute{ID: dp.ID, Amount: dp.Amount, Reason: dp.Reason, Status: dp.Status, At: dp.At}
		}
		for _, sd := range p.Strays {
			st := order.StrayPayment{IntentID: sd.IntentID, SessionID: sd.SessionID, Amount: sd.Amount, Reason: sd.Reason, At: sd.At, Outcome: sd.Outcome}
			st.CanceledAt = timeOf(sd.CanceledAt)
			o.Payment.Strays = append(o.Payment.Strays, st)
		}
		for _, rd := range p.Refunds {
			o.Payment.Refunds = append(o.Payment.Refunds, order.Refund{N: int(rd.N), Amount: rd.Amount, Reason: rd.Reason, Actor: rd.Actor, At: rd.At,
				ProviderID: rd.ProviderID, RefundedAt: timeOf(rd.RefundedAt), ReceiptID: rd.ReceiptID, RecordedAt: timeOf(rd.RecordedAt),
				PaymentFailure: rd.PaymentFailure, BooksFailure: rd.BooksFailure, Outside: rd.Outside, Status: rd.Status, Attempt: int(rd.Attempt),
				TaxDue: rd.TaxDue, Tax: rd.Tax, TaxReversalID: rd.TaxReversalID, TaxAttempt: int(rd.TaxAttempt),
				TaxFailure: rd.TaxFailure})
		}
	}
	o.Work = order.Work{State: order.State(d.Work.State), Entry: int(d.Work.Entry), Done: d.Work.Done, Complete: d.Work.Complete, Wake: d.Work.Wake}
	for _, f := range d.Work.Failed {
		o.Work.Failed = append(o.Work.Failed, order.StepFailure{Step: f.Step, Reason: f.Reason, At: f.At})
	}
	for _, r := range d.Requests {
		o.Requests = append(o.Requests, order.Request{ID: r.ID, Command: r.Command, Hash: r.Hash, Actor: r.Actor, At: r.At, Refund: int(r.Refund)})
	}
	cur := func(a int64) money.Money { return money.New(a, d.Currency) }
	p := d.Pricing
	o.Pricing = order.Pricing{Revision: p.Revision, ShippingDiscount: cur(d.ShippingDiscount), CommittedRevision: p.CommittedRevision,
		Redeemed: p.Redeemed, RedemptionsReleased: p.RedemptionsReleased}
	if c := d.Code; c != nil {
		o.Pricing.Code, o.Pricing.CodeStatus, o.Pricing.CodeReason = c.Code, c.Status, c.Message
	}
	for _, a := range d.Promotions {
		o.Pricing.Promotions = append(o.Pricing.Promotions, order.AppliedPromotion{ID: a.ID, Name: a.Name, Description: a.Description, Discount: cur(a.Discount)})
	}
	for _, l := range d.Lines {
		o.Pricing.LineDiscounts = append(o.Pricing.LineDiscounts, cur(l.Discount))
	}
	if f := d.Fulfilment; f != nil {
		for _, pd := range f.Parts {
			p := order.Part{ID: pd.ID, Kind: pd.Kind, Status: pd.Status, Carrier: pd.Carrier, TrackingNumber: pd.TrackingNumber,
				TrackingURL: pd.TrackingURL, JobID: pd.JobID, PrinterStatus: pd.PrinterStatus, CreatedAt: pd.CreatedAt, UpdatedAt: pd.UpdatedAt}
			p.ShippedAt = timeOf(pd.ShippedAt)
			p.SubmitStarted = timeOf(pd.SubmitStarted)
			p.TrackingNote, p.TrackedAt, p.DeliveredAt = pd.TrackingNote, timeOf(pd.TrackedAt), timeOf(pd.DeliveredAt)
			for _, l := range pd.Labels {
				p.Labels = append(p.Labels, order.Label{ID: l.ID, RateID: l.RateID, Carrier: l.Carrier, CarrierCode: l.CarrierCode, Service: l.Service,
					TrackingNumber: l.TrackingNumber, TrackingURL: l.TrackingURL, DownloadURL: l.DownloadURL, Format: l.Format,
					Cost: money.New(l.Cost, l.Currency), BoughtAt: l.BoughtAt, VoidedAt: timeOf(l.VoidedAt), VoidRefused: l.VoidRefused})
			}
			if c := pd.Buying; c != nil {
				p.Buying = &order.LabelClaim{Rates: c.Rates, Since: c.Since, RequestIDs: c.RequestIDs}
			}
			for _, l := range pd.Lines {
				p.Lines = append(p.Lines, order.PartLine{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity})
			}
			o.Parts = append(o.Parts, p)
		}
	}
	return order.Restore(o, order.State(d.State), h)
}

// orderKey is an order's key in the per-instance lock.
func orderKey(id string) string { return "order/" + id }

// Orders stores orders in Firestore. It is the one write path of
// orders/{id}: every write goes through setTx or createTx (which stamp
// updatedAt), and its lock is the one per-instance lock every store that
// writes orders takes (TestOneWritePathForOrders checks both).
type Orders struct {
	client *firestore.Client
	now    func() time.Time
	locks  keyLock
}

// NewOrders returns the order store. now is the clock (time.Now if nil).
func NewOrders(client *firestore.Client, now func() time.Time) *Orders {
	if now == nil {
		now = time.Now
	}
	return &Orders{client: client, now: now}
}

func (s *Orders) ref(id string) *firestore.DocumentRef {
	return s.client.Collection(OrdersCollection).Doc(id)
}

// Create stores a new order. ALREADY_EXISTS if the id is taken.
func (s *Orders) Create(ctx context.Context, o *order.Order) error {
	_, err := s.ref(o.ID).Create(ctx, toDoc(o))
	if status.Code(err) == codes.AlreadyExists {
		return apperr.Wrap(err, apperr.AlreadyExists, "order %s already exists", o.ID)
	}
	return wrap(err, "create order %s", o.ID)
}

// Get reads an order. NOT_FOUND if there is none.
func (s *Orders) Get(ctx context.Context, id string) (*order.Order, error) {
	snap, err := s.ref(id).Get(ctx)
	if err != nil {
		return nil, notFoundOr(err, id)
	}
	return decode(snap)
}

// getTx reads order id inside a transaction.
func getTx(tx *firestore.Transaction, client *firestore.Client, id string) (*firestore.DocumentRef, *order.Order, error) {
	ref := client.Collection(OrdersCollection).Doc(id)
	snap, err := tx.Get(ref)
	if err != nil {
		return nil, nil, notFoundOr(err, id)
	}
	o, err := decode(snap)
	return ref, o, err
}

func decode(snap *firestore.DocumentSnapshot) (*order.Order, error) {
	var d orderDoc
	if err := snap.DataTo(&d); err != nil {
		return nil, fmt.Errorf("decode order %s: %w", snap.Ref.ID, err)
	}
	return fromDoc(snap.Ref.ID, d)
}

// Update reads order id in a transaction, lets fn change it, and writes it
// back in the same transaction, but only if fn reports a change: a write
// that changes nothing would still wake the order trigger. A write stamps
// updatedAt (the sweeper's queries rely on it). fn may run more than once
// when the transaction is retried, so it must only change the order it is
// given. It returns the order as committed (or as read, when unchanged) and
// whether it was written.
func (s *Orders) Update(ctx context.Context, id string, fn func(*order.Order) (changed bool, err error)) (*order.Order, bool, error) {
	var (
		result  *order.Order
		written bool
	)
	err := s.transact(ctx, fmt.Sprintf("update order %s", id), []string{orderKey(id)}, func(tx *firestore.Transaction) error {
		var err error
		result, written, err = s.UpdateTx(tx, id, fn)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return result, written, nil
}

// transact runs fn in one Firestore transaction while this instance holds
// the locks of keys (one writer per key per instance, so that a hot
// document is not fought over by transactions that Firestore would abort).
// An error fn returns that already has a canonical code keeps it; any other
// is classified by wrap with what. opts follow the default attempts.
func (s *Orders) transact(ctx context.Context, what string, keys []string, fn func(*firestore.Transaction) error, opts ...firestore.TransactionOption) error {
	unlock, err := s.locks.lockAll(ctx, keys...)
	if err != nil {
		return wrap(err, "%s", what)
	}
	defer unlock()
	opts = append([]firestore.TransactionOption{firestore.MaxAttempts(transactionAttempts)}, opts...)
	attempts := 0
	err = s.client.RunTransaction(ctx, func(_ context.Context, tx *firestore.Transaction) error { attempts++; return fn(tx) }, opts...)
	if err != nil && apperr.As(err) == nil {
		if attempts > 1 && ctx.Err() != nil {
			// The call's time ran out while the transaction was retried
			// after aborts: it lost to contention, which a retry may win.
			return apperr.Wrap(err, apperr.Aborted, "%s: too much contention, try again", what).Because("contention")
		}
		err = wrap(err, "%s", what)
	}
	return err
}

// UpdateTx is Update inside the caller's transaction (which must not have
// written yet: Firestore wants every read before the first write). It
// takes no per-instance lock; the caller's locks and the transaction guard
// the order.
func (s *Orders) UpdateTx(tx *firestore.Transaction, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error) {
	ref, o, err := getTx(tx, s.client, id)
	if err != nil {
		return nil, false, err
	}
	changed, err := fn(o)
	if err != nil || !changed {
		return o, false, err
	}
	return o, true, s.setTx(tx, ref, o)
}

// setTx writes o in tx, stamping updatedAt. Every write of an existing
// order goes through it.
func (s *Orders) setTx(tx *firestore.Transaction, ref *firestore.DocumentRef, o *order.Order) error {
	o.UpdatedAt = s.now().UTC()
	return tx.Set(ref, toDoc(o))
}

// createTx creates o in tx, stamping updatedAt.
func (s *Orders) createTx(tx *firestore.Transaction, o *order.Order) error {
	o.UpdatedAt = s.now().UTC()
	return tx.Create(s.ref(o.ID), toDoc(o))
}

// Transition applies a compare-and-set state change (see order.Transition)
// in one transaction: the state and its history entry are written together,
// and a transition that already happened writes nothing.
func (s *Orders) Transition(ctx context.Context, id string, m order.Move) (o *order.Order, applied bool, err error) {
	return s.Update(ctx, id, func(o *order.Order) (bool, error) {
		return o.Transition(m, s.now().UTC())
	})
}

func notFoundOr(err error, id string) error {
	if status.Code(err) == codes.NotFound {
		return apperr.Wrap(err, apperr.NotFound, "order %s not found", id).Because(order.ReasonOrderNotFound)
	}
	return wrap(err, "read order %s", id)
}

// wrap classifies a Firestore error: contention and unavailability are
// transient (ABORTED, UNAVAILABLE; Firestore's INTERNAL and UNKNOWN too,
// which it documents as retryable server errors), a canceled or expired
// context keeps its meaning, anything else is INTERNAL.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		return apperr.Wrap(err, apperr.DeadlineExceeded, "%s: timed out", msg).Because("timeout")
	case errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled:
		return apperr.Wrap(err, apperr.Aborted, "%s: canceled", msg).Because("canceled")
	}
	switch status.Code(err) {
	case codes.Aborted:
		return apperr.Wrap(err, apperr.Aborted, "%s: too much contention, try again", msg).Because("contention")
	case codes.Unavailable, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		// Firestore documents INTERNAL (and gRPC UNKNOWN) as a server
		// error to retry with backoff.
		return apperr.Wrap(err, apperr.Unavailable, "%s: the database is unavailable, try again", msg).Because("database_unavailable")
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Lapsing returns up to limit orders waiting for capture (authorized,
// invoiced, approved or needs_attention) whose authorization lapses before
// `before`, soonest first. (Index: state ASC, payment.captureBefore ASC.)
func (s *Orders) Lapsing(ctx context.Context, before time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).
		Where("state", "in", []string{string(order.Authorized), string(order.Invoiced), string(order.Approved), string(order.NeedsAttention)}).
		Where("payment.captureBefore", "<", before).OrderBy("payment.captureBefore", firestore.Asc).Limit(limit), "query lapsing authorizations")
}

// query runs q and decodes the orders it finds.
func (s *Orders) query(ctx context.Context, q firestore.Query, what string) ([]*order.Order, error) {
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "%s", what)
	}
	out := make([]*order.Order, 0, len(snaps))
	for _, snap := range snaps {
		o, err := decode(snap)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// ByInvoice returns the order whose QuickBooks invoice is invoiceID
// (NOT_FOUND when none is).
func (s *Orders) ByInvoice(ctx context.Context, invoiceID string) (*order.Order, error) {
	found, err := s.query(ctx, s.client.Collection(OrdersCollection).Where("invoice.id", "==", invoiceID).Limit(1), "find the order of an invoice")
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, apperr.New(apperr.NotFound, "no order has invoice %s", invoiceID)
	}
	return found[0], nil
}

// Stale returns up to limit orders in one of states whose last change is
// before `before`, oldest first. The sweeper uses it to find orders whose
// event or step was lost. (Index: state ASC, updatedAt ASC; see
// firestore.indexes.json.)
func (s *Orders) Stale(ctx context.Context, states []order.State, before time.Time, limit int) ([]*order.Order, error) {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	return s.query(ctx, s.client.Collection(OrdersCollection).
		Where("state", "in", names).Where("updatedAt", "<", before).
		OrderBy("updatedAt", firestore.Asc).Limit(limit), "query stale orders")
}

// Due returns up to limit orders whose work is due (order.WorkDue: a step
// of their current state entry not finished, or a stray authorization to
// release) and whose last change is before `before`, oldest first, in any
// state. (Index: work.due ASC, updatedAt ASC.)
func (s *Orders) Due(ctx context.Context, before time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).
		Where("work.due", "==", true).Where("updatedAt", "<", before).
		OrderBy("updatedAt", firestore.Asc).Limit(limit), "query orders with work due")
}

// Tracked returns up to limit orders with a part the carrier's tracking
// follows (order.Tracked), last changed before `before`, oldest first:
// their labels' tracking is re-read. (Index: tracking ASC, updatedAt ASC.)
func (s *Orders) Tracked(ctx context.Context, before time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).
		Where("tracking", "==", true).Where("updatedAt", "<", before).
		OrderBy("updatedAt", firestore.Asc).Limit(limit), "query tracked orders")
}

// ByTrackingNumber returns the order whose parcel has a good label with
// tracking number n; NOT_FOUND when none has.
func (s *Orders) ByTrackingNumber(ctx context.Context, n string) (*order.Order, error) {
	found, err := s.query(ctx, s.client.Collection(OrdersCollection).Where("trackingNumbers", "array-contains", n).Limit(1), "query orders by tracking number")
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, apperr.New(apperr.NotFound, "no order has a label with tracking number %s", n).Because("unknown_tracking_number")
	}
	return found[0], nil
}

// PrintsWaiting returns up to limit fulfilling orders last changed before
// `before`, oldest first: their print parts' jobs are re-read. (Index:
// state ASC, updatedAt ASC.)
func (s *Orders) PrintsWaiting(ctx context.Context, before time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).
		Where("state", "==", string(order.Fulfilling)).Where("updatedAt", "<", before).
		OrderBy("updatedAt", firestore.Asc).Limit(limit), "query fulfilling orders")
}
