package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
)

// pricesForm is a SKU's pricing as the owner fills it, and the error of
// the field it names.
type pricesForm struct {
	SKU, Name, Price, SalePrice, SaleStarts, SaleEnds string
	Active                                            bool
	Field, Error                                      string
}

// formTime is a datetime-local field's value to the minute.
const formTime = "2006-01-02T15:04"

// fieldTime is a time as a datetime-local field holds it (UTC), with its
// seconds when it has any, so that saving the form again keeps it to the
// second; "" for none.
func fieldTime(t time.Time) string {
	switch {
	case t.IsZero():
		return ""
	case t.Second() != 0:
		return t.UTC().Format(formTime + ":05")
	}
	return t.UTC().Format(formTime)
}

// parseFieldTime reads a datetime-local field's value (UTC), with or
// without seconds.
func parseFieldTime(s string) (time.Time, error) {
	t, err := time.Parse(formTime, s)
	if err != nil {
		t, err = time.Parse(formTime+":05", s)
	}
	return t.UTC(), err
}

func (f *pricesForm) fill(s catalog.SKU) {
	f.Name, f.Active, f.Price = s.Name, s.Active, s.Price.Decimal()
	if s.Sale != nil {
		f.SalePrice, f.SaleStarts, f.SaleEnds = s.Sale.Price.Decimal(), fieldTime(s.Sale.StartsAt), fieldTime(s.Sale.EndsAt)
	}
}

// prices shows a SKU's price, sale window and availability (?sku=), with
// the form that sets them.
func (c *Console) prices(q request) {
	form := pricesForm{SKU: strings.TrimSpace(q.r.URL.Query().Get("sku"))}
	status := http.StatusOK
	if form.SKU != "" {
		s, err := c.App.Queries.SKU(q.r.Context(), q.who, form.SKU)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound || apperr.CodeOf(err) == apperr.Invalid:
			form.Error, status = "There is no SKU "+form.SKU+".", http.StatusNotFound
		case err != nil:
			c.failErr(q.w, q.r, err)
			return
		default:
			form.fill(s)
		}
	}
	data := map[string]any{"Page": c.page(q), "Form": form, "RequestID": newRequestID()}
	if form.SKU == "" {
		rows, err := c.App.Queries.SKUs(q.r.Context(), q.who)
		if err != nil {
			c.failErr(q.w, q.r, err)
			return
		}
		data["Catalog"] = rows
	}
	c.render(q.w, q.r, status, "prices", data)
}

// savePrices sets a SKU's pricing from the form, checked with the rules
// the checkout prices by: a refusal comes back next to its field.
func (c *Console) savePrices(q request) {
	form := readPricesForm(q.r)
	cmd, field, err := form.command(strings.TrimSpace(q.r.PostFormValue("requestId")))
	if err == nil {
		_, err = c.App.Commands.SetPricing(q.r.Context(), q.who, cmd)
	}
	if err != nil {
		c.refuse(q, err, field, func(status int, msg, field string) {
			form.Field, form.Error = field, msg
			c.render(q.w, q.r, status, "prices", map[string]any{"Page": c.page(q), "Form": form, "RequestID": newRequestID()})
		})
		return
	}
	http.Redirect(q.w, q.r, c.link("prices?sku="+url.QueryEscape(form.SKU)), http.StatusSeeOther)
}

// readPricesForm is the prices form as posted (values trimmed).
func readPricesForm(r *http.Request) pricesForm {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return pricesForm{SKU: f("sku"), Name: f("name"), Price: f("price"), SalePrice: f("salePrice"), SaleStarts: f("saleStarts"), SaleEnds: f("saleEnds"),
		Active: f("active") == "yes"}
}

// command reads the form (prices in dollars, times in UTC): a value that
// is not what its field takes is INVALID_ARGUMENT naming the field.
func (f pricesForm) command(requestID string) (owner.SetPricing, string, error) {
	bad := func(field, format string, args ...any) (owner.SetPricing, string, error) {
		return owner.SetPricing{}, field, apperr.New(apperr.Invalid, format, args...).Because(order.ReasonMalformed).On(field)
	}
	price, err := money.ParseDecimal(strings.TrimPrefix(f.Price, "$"), "USD")
	if err != nil {
		return bad("price", "the price must be an amount in dollars, like 38.00")
	}
	cmd := owner.SetPricing{RequestID: requestID, SKU: f.SKU, Price: price, Active: f.Active}
	if f.SalePrice == "" && f.SaleStarts == "" && f.SaleEnds == "" {
		return cmd, "", nil
	}
	sale := catalog.Sale{}
	if sale.Price, err = money.ParseDecimal(strings.TrimPrefix(f.SalePrice, "$"), "USD"); err != nil {
		return bad("sale.price", "the sale price must be an amount in dollars, like 29.00")
	}
	if sale.StartsAt, err = parseFieldTime(f.SaleStarts); err != nil {
		return bad("sale.startsAt", "the sale needs its start (a date and time, UTC)")
	}
	if sale.EndsAt, err = parseFieldTime(f.SaleEnds); err != nil {
		return bad("sale.endsAt", "the sale needs its end (a date and time, UTC)")
	}
	cmd.Sale = &sale
	return cmd, "", nil
}
