package messages

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

//go:embed templates/*.html templates/*.txt
var templateFiles embed.FS

// Templates are the customer emails' templates, each an HTML and a text
// version (templates/<name>.html and .txt, with the shared layout), in the
// binary: html/template escapes every value in the HTML version.
var Templates = []string{"received", "receipt", "shipped", "delivered", "canceled", "refunded", "expired", "summary"}

// templateSet is one email's templates, HTML and text.
type templateSet struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

// templateSets are parsed on the first email rendered, not at start: most
// function instances send none, and parsing them all is the largest part
// of the start's own work (TestTemplatesRender renders every one).
var templateSets = sync.OnceValue(func() map[string]templateSet {
	sets := map[string]templateSet{}
	for _, name := range Templates {
		sets[name] = templateSet{html: htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")),
			text: texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/layout.txt", "templates/"+name+".txt"))}
	}
	return sets
})

// Store is the store as its emails show it (configuration).
type Store struct {
	Name         string
	Address      string // the postal address the emails carry
	SupportEmail string
	URL          string
	BrandColor   string // #rrggbb
	From         string // the sender
}

// View is what a template is given.
type View struct {
	Store   Store
	Order   OrderView
	Part    PartView
	Refund  RefundView
	Summary SummaryView // the owner's daily summary
}

// OrderView is an order as the emails show it: amounts formatted.
type OrderView struct {
	ID               string
	CustomerName     string
	Date             string
	Lines            []LineView
	Subtotal         string
	Discount         string // "" when none
	Promotions       []string
	Shipping         string
	ShippingService  string
	ShippingDiscount string // "" when none
	Tax              string // the sales tax, lines and shipping; "" when none
	TaxName          string // where it is due, as the tax's figures name it ("Illinois"); "" when unknown
	Total            string
	Card             string // "Visa card ending 4242"
	Charged          bool
	Address          string // text, one line per line
	AddressLines     []string
}

// LineView is an order line.
type LineView struct {
	Name     string
	Quantity int64
	Total    string
	Discount string // "" when none
}

// PartView is a shipped part.
type PartView struct {
	What           string // "The planners you ordered", "The items we packed"
	Lines          []LineView
	Carrier        string
	TrackingNumber string
	TrackingURL    string
	Others         bool // another part has yet to ship: "the rest ships separately"
	Undelivered    bool // another part has yet to be delivered: "the rest is on its way"
}

// RefundView is a refund made.
type RefundView struct {
	Amount string
	Tax    string // its share of the sales tax, within Amount; "" when none
	Reason string
	Total  string // refunded so far
}

// Format shows an amount as customers read it: money.Money.Display, which
// the owner's alerts use too.
func Format(m money.Money) string { return m.Display() }

// OrderViewOf is o as the emails show it.
func OrderViewOf(o *order.Order) OrderView {
	cur := func(a int64) string { return Format(money.New(a, o.Currency)) }
	v := OrderView{ID: o.ID, Date: o.CreatedAt.UTC().Format("January 2, 2006"), Subtotal: cur(o.Subtotal.Amount), Shipping: cur(o.ShippingAmount().Amount),
		Total: cur(o.Total().Amount), Card: "card"}
	if o.Customer != nil {
		v.CustomerName = o.Customer.Name
	}
	for i, l := range o.Lines {
		lv := LineView{Name: l.Name, Quantity: l.Quantity, Total: cur(l.Total.Amount)}
		if i < len(o.Pricing.LineDiscounts) && o.Pricing.LineDiscounts[i].Amount > 0 {
			lv.Discount = cur(o.Pricing.LineDiscounts[i].Amount)
		}
		v.Lines = append(v.Lines, lv)
	}
	if d := o.LinesDiscount().Amount; d > 0 {
		v.Discount = cur(d)
	}
	for _, p := range o.Pricing.Promotions {
		v.Promotions = append(v.Promotions, p.Name)
	}
	if d := o.Pricing.ShippingDiscount.Amount; d > 0 {
		v.ShippingDiscount = cur(d)
	}
	if t := o.TaxFigures(); t.Total > 0 {
		v.Tax, v.TaxName = cur(t.Total), t.Jurisdiction
	}
	if o.Shipping != nil {
		v.ShippingService = o.Shipping.Rate.Name()
		v.AddressLines = o.Shipping.Address.Lines()
		v.Address = strings.Join(v.AddressLines, "\n")
	}
	if p := o.Payment; p != nil {
		if p.CardLast4 != "" {
			brand := p.CardBrand
			if brand == "" {
				brand = "card"
			} else {
				brand = strings.ToUpper(brand[:1]) + brand[1:] + " card"
			}
			v.Card = brand + " ending " + p.CardLast4
		}
		v.Charged = p.AmountCaptured > 0
	}
	return v
}

// PartViewOf is part p of o as the shipping email shows it: Others when
// another part of o has yet to ship (the last part's email says nothing
// of a rest).
func PartViewOf(o *order.Order, p order.Part) PartView {
	v := PartView{Carrier: p.Carrier, TrackingNumber: p.TrackingNumber, TrackingURL: p.TrackingURL}
	for _, other := range o.Parts {
		if other.ID != p.ID && !other.Shipped() {
			v.Others = true
		}
		if other.ID != p.ID && other.Status != order.PartDelivered && other.Status != order.PartCanceled {
			v.Undelivered = true
		}
	}
	v.What = "The items we packed"
	if p.Kind == order.PartPrint {
		v.What = "The planners printed for you"
	}
	for _, l := range p.Lines {
		v.Lines = append(v.Lines, LineView{Name: l.Name, Quantity: l.Quantity})
	}
	return v
}

// Rendered is a rendered email.
type Rendered struct {
	Subject, Text, HTML string
}

// Render renders template name with v.
func Render(name string, v View) (Rendered, error) {
	set, ok := templateSets()[name]
	hs, ts := set.html, set.text
	if !ok {
		return Rendered{}, fmt.Errorf("no template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := ts.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, err
	}
	if err := ts.ExecuteTemplate(&text, "layout", v); err != nil {
		return Rendered{}, err
	}
	if err := hs.ExecuteTemplate(&html, "layout", v); err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: strings.TrimSpace(subj.String()), Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// Sample is a made-up order in every state the templates show, for the
// previews (/mail/preview/{template}).
func Sample(store Store) View {
	at := time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)
	return View{Store: store,
		Order: OrderView{ID: "K7Q2M9XH4TBA", CustomerName: "Ann Lee", Date: at.Format("January 2, 2006"),
			Lines:    []LineView{{Name: "Weekly Planner A5", Quantity: 2, Total: "$59.00", Discount: "$5.90"}, {Name: "Sticker Pack", Quantity: 1, Total: "$6.50"}},
			Subtotal: "$65.50", Discount: "$5.90", Promotions: []string{"Welcome 10%"}, Shipping: "$7.95", ShippingService: "USPS Ground Advantage",
			Tax: "$3.73", TaxName: "Illinois", Total: "$71.28", Card: "Visa card ending 4242", Charged: true,
			Address:      "Ann Lee\n12 Elm Street\nSpringfield, IL 62704\nUS",
			AddressLines: []string{"Ann Lee", "12 Elm Street", "Springfield, IL 62704", "US"}},
		Part: PartView{What: "The planners printed for you", Lines: []LineView{{Name: "Weekly Planner A5", Quantity: 2}}, Carrier: "USPS",
			TrackingNumber: "9400 1000 0000 0000 0000 00", TrackingURL: "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000", Others: true, Undelivered: true},
		Refund: RefundView{Amount: "$10.00", Tax: "$0.52", Reason: "the cover arrived scuffed", Total: "$10.00"},
		Summary: SummaryView{Date: at.Format("Monday, January 2, 2006"), Review: 1, Shipping: 1, Attention: 1,
			Tax: &SummaryTax{Day: at.AddDate(0, 0, -1).Format("Monday, January 2"), Collected: "$12.01",
				How: "$14.67 on 4 orders charged, less $2.66 given back by 1 refund"},
			Groups: []SummaryGroup{
				{Title: "Waiting for your review in QuickBooks", Orders: []SummaryOrder{{ID: "K7Q2M9XH4TBA", Customer: "Ann Lee", Total: "$71.28", Since: "since Dec 3 09:12"}}},
				{Title: "Paid, waiting to ship", Orders: []SummaryOrder{{ID: "M4R8T2QX9PLA", Customer: "Bo Chen", Total: "$31.40", Since: "since Dec 2 16:40", Note: "parcel part waiting"}}},
				{Title: "Needing your attention", Orders: []SummaryOrder{{ID: "Q9W3E7R1T5YU", Customer: "Cy Diaz", Total: "$18.20", Since: "since Dec 3 07:02",
					Note: "the printer's job 100234 is REJECTED: the cover file is too small"}}},
			}},
	}
}
