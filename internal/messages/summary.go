package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/sweep"
)

// SummaryOrders lists orders by state (firestoredb.Orders.Stale).
type SummaryOrders interface {
	Stale(ctx context.Context, states []order.State, before time.Time, limit int) ([]*order.Order, error)
}

// Summary mails the owner a daily summary — orders waiting for review in
// QuickBooks, waiting to ship, needing attention — once a day, from the
// sweeper's first run at or after the configured local hour.
type Summary struct {
	Outbox     Outbox
	Orders     SummaryOrders
	OwnerEmail string
	Hour       int // 0–23, local
	Location   *time.Location
	Store      Store
}

// SummaryView is the summary as the template shows it.
type SummaryView struct {
	Date                        string
	Review, Shipping, Attention int
	Groups                      []SummaryGroup
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
