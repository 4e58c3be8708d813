package messages

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/sweep"
)

// SummaryOrders lists orders by state (firestoredb.Orders.Stale).
type SummaryOrders interface {
	Stale(ctx context.Context, states []order.State, before time.Time, limit int) ([]*order.Order, error)
}

// Summary mails the owner a daily summary — the sales tax collected the
// day before, orders waiting for review in QuickBooks, waiting to ship,
// needing attention — once a day, from the sweeper's first run at or after
// the configured local hour.
type Summary struct {
	Outbox Outbox
	Orders SummaryOrders
	// Tax finds the orders whose money moved the day before (nil: the
	// store collects no sales tax, and the summary says nothing of it).
	Tax        TaxOrders
	OwnerEmail string
	Hour       int // 0–23, local
	Location   *time.Location
	Store      Store
}

// SummaryView is the summary as the template shows it.
type SummaryView struct {
	Date                        string
	Review, Shipping, Attention int
	// Tax is the sales tax collected the day before; nil when the store
	// collects none.
	Tax    *SummaryTax
	Groups []SummaryGroup
}

// SummaryTax is a day's TaxCollected as the summary words it.
type SummaryTax struct {
	Day       string // "Friday, December 4"
	Collected string // the net: charged less given back
	How       string // "$15.00 on 4 orders charged, less $2.66 given back by 1 refund"; "" when nothing moved
	Notes     []string
}

// summaryTaxOf words t, collected on day.
func summaryTaxOf(t TaxCollected, day string) *SummaryTax {
	cur := func(a int64) string { return Format(money.New(a, t.Currency)) }
	v := &SummaryTax{Day: day, Collected: cur(t.Net())}
	var how []string
	if t.Orders > 0 {
		how = append(how, cur(t.Charged)+" on "+count(t.Orders, "order")+" charged")
	}
	if t.Refunds > 0 {
		how = append(how, cur(t.Refunded)+" given back by "+count(t.Refunds, "refund"))
	}
	v.How = strings.Join(how, ", less ")
	if t.Unsettled > 0 {
		v.Notes = append(v.Notes, "the tax of "+count(t.Unsettled, "refund")+" made that day is still to settle: not counted")
	}
	if t.Partial {
		v.Notes = append(v.Notes, fmt.Sprintf("only the first %d orders of each kind are counted", TaxReadLimit))
	}
	return v
}

// count is n things, in words: "1 order", "4 orders".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// SummaryGroup is one list of the summary.
type SummaryGroup struct {
	Title  string
	Orders []SummaryOrder
	More   bool // the list was cut
}

// SummaryOrder is one order of a list.
type SummaryOrder struct {
	ID, Customer, Total, Since, Note string
}

// summaryList bounds each list.
const summaryList = 25

// Tasks returns the summary's sweeper task.
func (s *Summary) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"dailySummary": s.run}
}

// PurposeSummary is the daily summary's purpose; its mail id is
// summary-<local date>.
const PurposeSummary = "summary"

func (s *Summary) run(ctx context.Context, now time.Time) (string, error) {
	if s.OwnerEmail == "" {
		return "no OMS_OWNER_EMAIL: no summary", nil
	}
	local := now.In(s.Location)
	if local.Hour() < s.Hour {
		return fmt.Sprintf("before %02d:00 local", s.Hour), nil
	}
	v := SummaryView{Date: local.Format("Monday, January 2, 2006")}
	var errs []error
	if s.Tax != nil {
		// The day before, whole: each day is counted once, in the summary
		// of the day after.
		to := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.Location)
		from := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, s.Location)
		t, err := ReadTaxCollected(ctx, s.Tax, from, to)
		errs = append(errs, err)
		v.Tax = summaryTaxOf(t, from.Format("Monday, January 2"))
	}
	for _, g := range []struct {
		title  string
		states []order.State
		count  *int
	}{
		{"Waiting for your review in QuickBooks", []order.State{order.Invoiced}, &v.Review},
		{"Paid, waiting to ship", []order.State{order.Paid, order.Fulfilling}, &v.Shipping},
		{"Needing your attention", []order.State{order.NeedsAttention}, &v.Attention},
	} {
		orders, err := s.Orders.Stale(ctx, g.states, now, summaryList+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		grp := SummaryGroup{Title: g.title, More: len(orders) > summaryList}
		for i, o := range orders {
			if i == summaryList {
				break
			}
			so := SummaryOrder{ID: o.ID, Total: Format(o.Total()), Since: "since " + o.StateSince.In(s.Location).Format("Jan 2 15:04"), Note: o.Attention}
			if o.Customer != nil {
				so.Customer = o.Customer.Name
			}
			if o.State() == order.Fulfilling {
				for _, p := range o.Parts {
					if !p.Shipped() && so.Note == "" {
						so.Note = p.Kind + " part " + p.Status
					}
				}
			}
			grp.Orders = append(grp.Orders, so)
		}
		*g.count = len(grp.Orders)
		v.Groups = append(v.Groups, grp)
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	r, err := Render("summary", View{Store: s.Store, Summary: v})
	if err != nil {
		return "", err
	}
	id := "summary-" + local.Format("2006-01-02")
	isNew, err := s.Outbox.Queue(ctx, Mail{ID: id, To: s.OwnerEmail, From: s.Store.From, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Purpose: PurposeSummary}, now)
	if err != nil || !isNew {
		return "today's summary is queued already", err
	}
	return "queued " + id, nil
}
