package owner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
)

// The owner's reads, for the console: orders by state with counts (those
// that need the owner first), search, the alerts inbox. Paged with opaque
// cursors; every query has its index (firestore.indexes.json).

// OrderReader is what the owner's reads need of the orders.
type OrderReader interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	// InState lists orders in state, newest first, a page after cursor,
	// with the next page's cursor ("" at the end).
	InState(ctx context.Context, state order.State, after string, limit int) ([]*order.Order, string, error)
	CountInState(ctx context.Context, state order.State) (int64, error)
	// ToShip lists the orders with a parcel to ship (order.ParcelToShip),
	// oldest first.
	ToShip(ctx context.Context, limit int) ([]*order.Order, error)
	// PlacedSince counts the orders placed (first authorized) at or after
	// t, and sums their totals.
	PlacedSince(ctx context.Context, t time.Time) (count, total int64, err error)
	// ByMailbox lists a customer's orders by mailbox key, newest first.
	ByMailbox(ctx context.Context, key string, limit int) ([]*order.Order, error)
	// ByNamePrefix lists orders whose customer's name starts with prefix.
	ByNamePrefix(ctx context.Context, prefix string, limit int) ([]*order.Order, error)
}

// AlertRecord is an alert as the owner's inbox shows it.
type AlertRecord struct {
	Key, Kind, OrderID, Subject, Text string
	CreatedAt, ResolvedAt             time.Time // ResolvedAt zero while open
}

// AlertInbox is what the owner's reads need of the alerts.
type AlertInbox interface {
	// Page lists open alerts (newest first) or resolved ones (latest
	// resolved first), a page after cursor.
	Page(ctx context.Context, open bool, after string, limit int) ([]AlertRecord, string, error)
	// ResolveOne resolves one alert (once) and answers it.
	ResolveOne(ctx context.Context, key string, at time.Time) (AlertRecord, error)
}

// MailRecord is an email as the owner's pages show it: the message, when
// it was queued, and how its delivery stands.
type MailRecord struct {
	Mail      messages.Mail
	CreatedAt time.Time
	Delivery  messages.Delivery
}

// MailReader is what the owner's reads need of the outbox.
type MailReader interface {
	// OfOrder lists an order's emails, oldest first.
	OfOrder(ctx context.Context, orderID string) ([]MailRecord, error)
	// Outbox lists the mail in a delivery state ("" for any), newest
	// first.
	Outbox(ctx context.Context, state string, limit int) ([]MailRecord, error)
}

// StockReader is what the owner's reads need of the stock.
type StockReader interface {
	// Stock answers a SKU's level and a page of its ledger, newest
	// first, after cursor.
	Stock(ctx context.Context, sku, after string, limit int) (inventory.Level, []inventory.Movement, string, error)
	// Levels answers every stocked SKU's level.
	Levels(ctx context.Context) (map[string]inventory.Level, error)
}

// ReasonAlertNotFound: resolveAlert of a key no alert has.
const ReasonAlertNotFound = "alert_not_found"

// MaxPage bounds a page; DefaultPage is a page when none is asked.
const (
	MaxPage     = 100
	DefaultPage = 25
)

// StateCount is how many orders are in a state.
type StateCount struct {
	State order.State
	Count int64
}

// SKUReader is what the owner's reads need of the catalog.
type SKUReader interface {
	// SKUs answers the SKUs of ids that exist.
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKU, error)
	// AllSKUs answers every SKU, by id.
	AllSKUs(ctx context.Context) ([]catalog.SKU, error)
}

// CatalogRow is a SKU as the owner's overview shows it: its pricing and,
// for a stocked SKU, its level (nil for print on demand, or a stocked SKU
// whose stock was never opened).
type CatalogRow struct {
	SKU   catalog.SKU
	Level *inventory.Level
}

// SKUs answers every SKU with its stock level, by id: the console's
// stock and prices overviews.
func (r *Reads) SKUs(ctx context.Context, who *identity.Identity) ([]CatalogRow, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, err
	}
	var (
		skus   []catalog.SKU
		levels map[string]inventory.Level
		errs   [2]error
		wg     sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); skus, errs[0] = r.Catalog.AllSKUs(ctx) }()
	go func() { defer wg.Done(); levels, errs[1] = r.Ledger.Levels(ctx) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	out := make([]CatalogRow, 0, len(skus))
	for _, k := range skus {
		row := CatalogRow{SKU: k}
		if l, ok := levels[k.ID]; ok {
			row.Level = &l
		}
		out = append(out, row)
	}
	return out, nil
}

// Reads are the owner's queries.
type Reads struct {
	Catalog    SKUReader
	Orders     OrderReader
	Inbox      AlertInbox
	Mail       MailReader
	Ledger     StockReader
	AdminClaim string
	// Mailbox turns an email into the mailbox key orders are found by
	// (checkout.MailboxKey with the store's plus-addressing setting).
	Mailbox func(email string) string
	// Tax finds the orders whose money moved in a day, for the sales tax
	// it collected (nil: the store collects none, and the day's figures
	// have no tax).
	Tax messages.TaxOrders
	// Location is the store's time zone: where its day starts.
	Location *time.Location
	Now      func() time.Time
}

// DayFigures are the day's figures: the orders placed since midnight in
// the store's time zone and what they total (minor units), and the sales
// tax collected since then (messages.TaxCollected; nil when the store
// collects none).
type DayFigures struct {
	Since  time.Time
	Placed int64
	Total  int64
	Tax    *messages.TaxCollected
}

// Today answers the day's figures, read at once.
func (r *Reads) Today(ctx context.Context, who *identity.Identity) (DayFigures, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return DayFigures{}, err
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	now := r.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	d := DayFigures{Since: midnight}
	var (
		errs [2]error
		wg   sync.WaitGroup
	)
	if r.Tax != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, err := messages.ReadTaxCollected(ctx, r.Tax, midnight, time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, loc))
			d.Tax, errs[1] = &t, err
		}()
	}
	d.Placed, d.Total, errs[0] = r.Orders.PlacedSince(ctx, midnight)
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return DayFigures{}, err
	}
	return d, nil
}

// OrdersInState answers a page of orders in state, newest first.
func (r *Reads) OrdersInState(ctx context.Context, who *identity.Identity, state order.State, after string, limit int) ([]*order.Order, string, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, "", err
	}
	if !state.Valid() {
		return nil, "", apperr.New(apperr.Invalid, "state %q is not an order state", state).Because(order.ReasonMalformed).On("state")
	}
	return r.Orders.InState(ctx, state, after, pageSize(limit))
}

// Counts answers how many orders are in each state: those that need the
// owner first (needs_attention, then the states that wait for them:
// invoiced, paid, fulfilling), then the others in flow order.
func (r *Reads) Counts(ctx context.Context, who *identity.Identity) ([]StateCount, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, err
	}
	first := []order.State{order.NeedsAttention, order.Invoiced, order.Paid, order.Fulfilling}
	states := append([]order.State{}, first...)
	for _, s := range order.States {
		if !slices.Contains(first, s) {
			states = append(states, s)
		}
	}
	// One count query per state, at once: the start page waits for the
	// slowest, not for the sum.
	out := make([]StateCount, len(states))
	errs := make([]error, len(states))
	var wg sync.WaitGroup
	for i, s := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := r.Orders.CountInState(ctx, s)
			out[i], errs[i] = StateCount{State: s, Count: n}, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ToDo is what waits for the owner, order by order: the orders that need
// attention, the invoices waiting for review (invoiced: the owner records
// the payment in QuickBooks to approve), and the parcels to ship (a
// fulfilling order's parcel still waiting to be packed or for the
// carrier's first scan). The first two are newest first (their full lists
// are the orders in their state), the parcels oldest first; each at most
// the limit.
type ToDo struct {
	NeedsAttention, ToReview, ToShip []*order.Order
}

// Waiting answers the owner's to-do lists, read at once.
func (r *Reads) Waiting(ctx context.Context, who *identity.Identity, limit int) (ToDo, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return ToDo{}, err
	}
	var (
		td   ToDo
		errs [3]error
		wg   sync.WaitGroup
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		td.NeedsAttention, _, errs[0] = r.Orders.InState(ctx, order.NeedsAttention, "", limit)
	}()
	go func() { defer wg.Done(); td.ToReview, _, errs[1] = r.Orders.InState(ctx, order.Invoiced, "", limit) }()
	go func() { defer wg.Done(); td.ToShip, errs[2] = r.Orders.ToShip(ctx, limit) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return ToDo{}, err
	}
	return td, nil
}

// Search finds orders by what the owner types: an order id (exactly), an
// email (the customer's, any case or plus-address the store folds), or
// the start of a customer's name as typed (case-sensitive).
func (r *Reads) Search(ctx context.Context, who *identity.Identity, text string) ([]*order.Order, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, apperr.New(apperr.Invalid, "say what to search for: an order id, an email or a name").Because(order.ReasonRequired).On("text")
	case order.ValidID(strings.ToUpper(text)) == nil:
		o, err := r.Orders.Get(ctx, strings.ToUpper(text))
		if err == nil {
			return []*order.Order{o}, nil
		}
		if apperr.CodeOf(err) != apperr.NotFound {
			return nil, err
		}
		// No such order: a name that looks like an order id ("Schwarzkampf").
	case strings.Contains(text, "@"):
		return r.Orders.ByMailbox(ctx, r.Mailbox(text), DefaultPage)
	}
	return r.Orders.ByNamePrefix(ctx, text, DefaultPage)
}

// OrderDetail is one order with everything the owner's page shows: the
// order (lines, totals, customer, address, payment and refunds, stray
// payments, invoice, parts with tracking, history) and its emails with
// their delivery state.
type OrderDetail struct {
	Order *order.Order
	Mail  []MailRecord
}

// Order answers one order with everything.
func (r *Reads) Order(ctx context.Context, who *identity.Identity, id string) (OrderDetail, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return OrderDetail{}, err
	}
	if err := order.ValidID(id); err != nil {
		return OrderDetail{}, err
	}
	o, err := r.Orders.Get(ctx, id)
	if err != nil {
		return OrderDetail{}, err
	}
	mail, err := r.Mail.OfOrder(ctx, id)
	if err != nil {
		return OrderDetail{}, err
	}
	return OrderDetail{Order: o, Mail: mail}, nil
}

// Outbox answers the outbox for the owner: the mail that failed first
// (ERROR), then the latest of every state.
func (r *Reads) Outbox(ctx context.Context, who *identity.Identity, limit int) (failed, latest []MailRecord, err error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, nil, err
	}
	if failed, err = r.Mail.Outbox(ctx, messages.StateError, pageSize(limit)); err != nil {
		return nil, nil, err
	}
	latest, err = r.Mail.Outbox(ctx, "", pageSize(limit))
	return failed, latest, err
}

// StockView is a SKU's stock and a page of its ledger.
type StockView struct {
	Level     inventory.Level
	Movements []inventory.Movement
	Next      string // the next page's cursor, "" at the end
}

// Stock answers a SKU's level and its ledger, newest first.
func (r *Reads) Stock(ctx context.Context, who *identity.Identity, sku, after string, limit int) (StockView, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return StockView{}, err
	}
	l, ms, next, err := r.Ledger.Stock(ctx, sku, after, pageSize(limit))
	return StockView{Level: l, Movements: ms, Next: next}, err
}

// SKU answers one SKU as the catalog has it (its price, sale and
// availability, for the owner's pricing page); NOT_FOUND for none.
func (r *Reads) SKU(ctx context.Context, who *identity.Identity, id string) (catalog.SKU, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return catalog.SKU{}, err
	}
	if !catalog.ValidSKU(id) {
		return catalog.SKU{}, apperr.New(apperr.Invalid, "sku %q is not a SKU id", id).Because(order.ReasonMalformed).On("sku")
	}
	skus, err := r.Catalog.SKUs(ctx, []string{id})
	if err != nil {
		return catalog.SKU{}, err
	}
	s, ok := skus[id]
	if !ok {
		return catalog.SKU{}, apperr.New(apperr.NotFound, "there is no SKU %s", id).Because("unknown_sku")
	}
	return s, nil
}

// Alerts answers a page of the owner's alerts: open ones, or resolved.
func (r *Reads) Alerts(ctx context.Context, who *identity.Identity, open bool, after string, limit int) ([]AlertRecord, string, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return nil, "", err
	}
	return r.Inbox.Page(ctx, open, after, pageSize(limit))
}

// ResolveAlert resolves one alert: the owner saw to it. Resolving a
// resolved alert again answers it unchanged, so the command is safe to
// repeat by nature; it still carries a request id, as every owner
// command does.
func (r *Reads) ResolveAlert(ctx context.Context, who *identity.Identity, c ResolveAlert) (AlertRecord, error) {
	if err := identity.RequireOwner(who, r.AdminClaim); err != nil {
		return AlertRecord{}, err
	}
	if err := order.ValidRequestID(c.RequestID); err != nil {
		return AlertRecord{}, err
	}
	if strings.TrimSpace(c.Key) == "" || len(c.Key) > 200 || strings.Contains(c.Key, "/") {
		return AlertRecord{}, apperr.New(apperr.Invalid, "key must be an alert's key").Because(order.ReasonMalformed).On("key")
	}
	return r.Inbox.ResolveOne(ctx, c.Key, r.Now().UTC())
}

// ResolveAlert marks one of the owner's alerts resolved.
type ResolveAlert struct {
	RequestID string
	Key       string
}

func pageSize(n int) int {
	if n <= 0 {
		return DefaultPage
	}
	return min(n, MaxPage)
}
