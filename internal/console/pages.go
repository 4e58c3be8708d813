package console

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/tax"
)

var funcs = template.FuncMap{
	"money": func(amount int64, currency string) string { return money.New(amount, currency).Display() },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("Jan 2 15:04 UTC")
	},
	"title": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

// page is what every signed-in page has: the console's links and the
// form token.
type page struct {
	Home, CSRF, Email string
}

func (c *Console) page(q request) page {
	return page{Home: c.link(""), CSRF: formToken(q.session), Email: q.who.Email}
}

// newRequestID is the id a rendered form carries: the same form submitted
// twice is the same act.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "console-" + hex.EncodeToString(b[:])
}

// start is the start page: what needs the owner now, and the orders by
// state.
func (c *Console) start(q request) {
	ctx := q.r.Context()
	// The reads at once: the page waits for the slowest.
	var (
		wg     sync.WaitGroup
		counts []owner.StateCount
		alerts []owner.AlertRecord
		failed []owner.MailRecord
		today  owner.DayFigures
		todo   owner.ToDo
		errs   [5]error
	)
	wg.Add(5)
	go func() { defer wg.Done(); counts, errs[0] = c.App.Queries.Counts(ctx, q.who) }()
	go func() { defer wg.Done(); alerts, _, errs[1] = c.App.Queries.Alerts(ctx, q.who, true, "", 10) }()
	go func() { defer wg.Done(); failed, _, errs[2] = c.App.Queries.Outbox(ctx, q.who, 10) }()
	go func() { defer wg.Done(); today, errs[3] = c.App.Queries.Today(ctx, q.who) }()
	go func() { defer wg.Done(); todo, errs[4] = c.App.Queries.Waiting(ctx, q.who, 10) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	c.render(q.w, q.r, http.StatusOK, "start", map[string]any{"Page": c.page(q), "Counts": counts, "Alerts": alerts, "FailedMail": failed,
		"Today": today, "ToDo": todo})
}

// orders lists the orders in a state (?state=, default needs_attention),
// or those a search finds (?q=: an order number, an email, a name).
func (c *Console) orders(q request) {
	ctx := q.r.Context()
	text := strings.TrimSpace(q.r.URL.Query().Get("q"))
	state := order.State(q.r.URL.Query().Get("state"))
	var list []*order.Order
	var next string
	var err error
	switch {
	case text != "":
		list, err = c.App.Queries.Search(ctx, q.who, text)
	default:
		if !state.Valid() {
			state = order.NeedsAttention
		}
		list, next, err = c.App.Queries.OrdersInState(ctx, q.who, state, q.r.URL.Query().Get("after"), owner.DefaultPage)
	}
	if err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	c.render(q.w, q.r, http.StatusOK, "orders", map[string]any{"Page": c.page(q), "Orders": list, "State": state, "Query": text, "Next": next,
		"States": order.States})
}

// orderView is an order's page.
type orderView struct {
	Page     page
	Detail   owner.OrderDetail
	O        *order.Order
	Card     string // "Visa …4242"
	Refunded int64
	// Tax is the order's sales tax (0: none), TaxNote how it was worked
	// out, and TaxRefunded what the refunds whose share is settled gave
	// back of it.
	Tax         int64
	TaxNote     string
	TaxRefunded int64
	Left        int64 // refundable
	LabelCost   int64
	Voided      int64
	RequestID   string // the forms' request id
	Error       string // the last action's refusal, in its words
	Invoice     string // the invoice's page in QuickBooks ("" for none)
}

func (c *Console) order(q request) { c.orderPage(q, http.StatusOK, "") }

func (c *Console) orderPage(q request, status int, failure string) {
	d, err := c.App.Queries.Order(q.r.Context(), q.who, q.r.PathValue("id"))
	if err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	o := d.Order
	v := orderView{Page: c.page(q), Detail: d, O: o, Refunded: o.RefundedTotal(), Left: o.Refundable(), RequestID: newRequestID(), Error: failure}
	if p := o.Payment; p != nil && p.CardLast4 != "" {
		v.Card = strings.ToUpper(p.CardBrand[:min(1, len(p.CardBrand))]) + p.CardBrand[min(1, len(p.CardBrand)):] + " …" + p.CardLast4
	}
	if f := o.TaxFigures(); f.Total > 0 {
		v.Tax, v.TaxNote, v.TaxRefunded = f.Total, taxNote(o.Tax.Provider, f, o.Currency), o.TaxRefunded()
	}
	cost, voided := o.LabelCosts()
	v.LabelCost, v.Voided = cost.Amount, voided.Amount
	if o.Invoice != nil && o.Invoice.ID != "" && c.InvoiceURL != nil {
		v.Invoice = c.InvoiceURL(o.Invoice.ID)
	}
	c.render(q.w, q.r, status, "order", v)
}

// taxProviders are the tax providers as the owner reads them.
var taxProviders = map[string]string{order.TaxByTable: "your rate table", order.TaxByStripe: "Stripe Tax"}

// taxNote says how tax figures f (made by provider) came about: where the
// tax is due, at what rate, by whom, and how much of it is on shipping,
// each when known ("Illinois · 6.25% · your rate table").
func taxNote(provider string, f tax.Figures, currency string) string {
	var parts []string
	if f.Jurisdiction != "" {
		parts = append(parts, f.Jurisdiction)
	}
	if f.Rate > 0 {
		parts = append(parts, percent(f.Rate))
	}
	if p := taxProviders[provider]; p != "" {
		parts = append(parts, p)
	} else if provider != "" {
		parts = append(parts, provider)
	}
	if f.Shipping > 0 {
		parts = append(parts, money.New(f.Shipping, currency).Display()+" of it on shipping")
	}
	return strings.Join(parts, " · ")
}

// percent is a rate in parts per million as a percent, with no trailing
// zeros: 62,500 is "6.25%", 60,000 "6%".
func percent(ppm int64) string {
	whole, frac := ppm/(tax.PPM/100), ppm%(tax.PPM/100)
	if frac == 0 {
		return strconv.FormatInt(whole, 10) + "%"
	}
	return strconv.FormatInt(whole, 10) + "." + strings.TrimRight(fmt.Sprintf("%04d", frac), "0") + "%"
}

// act runs one of the owner's actions on an order from its page's forms,
// under the form's request id; then back to the order's page (a refusal
// shown on it, in its words).
func (c *Console) act(q request) {
	ctx, id, f := q.r.Context(), q.r.PathValue("id"), q.r.PostFormValue
	rid := f("requestId")
	cmds := c.App.Commands
	var err error
	switch q.r.PathValue("action") {
	case "refund":
		cmd := owner.RefundOrder{RequestID: rid, OrderID: id, Reason: f("reason"), Full: f("full") == "yes"}
		if !cmd.Full {
			var amount int64
			if amount, err = cents(f("amount")); err == nil {
				cmd.Amount = &amount
			}
		}
		if err == nil {
			_, _, err = cmds.RefundOrder(ctx, q.who, cmd)
		}
	case "cancel":
		_, err = cmds.CancelOrder(ctx, q.who, owner.CancelOrder{RequestID: rid, OrderID: id, Reason: f("reason")})
	case "retry":
		_, err = cmds.RetryOrder(ctx, q.who, owner.RetryOrder{RequestID: rid, OrderID: id})
	case "buy-label":
		_, _, err = cmds.BuyLabel(ctx, q.who, owner.LabelCommand{RequestID: rid, OrderID: id})
	case "void-label":
		_, err = cmds.VoidLabel(ctx, q.who, owner.LabelCommand{RequestID: rid, OrderID: id})
	case "hand-over":
		_, err = cmds.MarkShipped(ctx, q.who, owner.MarkShipped{RequestID: rid, OrderID: id, PartID: order.PartParcel})
	default:
		c.fail(q.w, q.r, http.StatusNotFound, "No such action.")
		return
	}
	if err != nil {
		c.refuse(q, err, "", func(status int, msg, _ string) { c.orderPage(q, status, msg) })
		return
	}
	http.Redirect(q.w, q.r, c.link("orders/"+id), http.StatusSeeOther)
}

// refuse answers a form's failure: a refusal goes back to its page through
// show (its status, the application's words, and the field it names —
// the application's, else field, the one the form itself found wrong); an
// unexpected error is failErr's.
func (c *Console) refuse(q request, err error, field string, show func(status int, msg, field string)) {
	status, msg, ok := refusal(err)
	if !ok {
		c.failErr(q.w, q.r, err)
		return
	}
	if e := apperr.As(err); e.Field != "" {
		field = e.Field
	}
	show(status, msg, field)
}

// refusal is an action's refusal as a page shows it: its status and the
// application's words; false for an unexpected error.
func refusal(err error) (int, string, bool) {
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		return 0, "", false
	}
	status := map[apperr.Code]int{apperr.NotFound: http.StatusNotFound, apperr.Invalid: http.StatusBadRequest, apperr.PermissionDenied: http.StatusForbidden,
		apperr.Unauthenticated: http.StatusUnauthorized, apperr.Unavailable: http.StatusServiceUnavailable}[e.Code]
	if status == 0 {
		status = http.StatusConflict
	}
	return status, e.Message, true
}

// cents reads an amount the owner typed ("12", "12.5", "$12.50"), in
// dollars and cents.
func cents(s string) (int64, error) {
	m, err := money.ParseDecimal(strings.TrimPrefix(strings.TrimSpace(s), "$"), "USD")
	if err != nil || m.Amount <= 0 {
		return 0, apperr.New(apperr.Invalid, "the amount %q is not an amount to refund, like 12.50", s).Because(order.ReasonMalformed).On("amount")
	}
	return m.Amount, nil
}
