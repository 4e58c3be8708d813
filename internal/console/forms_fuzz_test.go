package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/fuzzcheck"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/promotion"
)

// posted is body as the console's handlers read it: a POSTed form.
func posted(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/owner/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// refused checks a form's refusal: INVALID_ARGUMENT naming one of fields,
// in the project's words.
func refused(t *testing.T, err error, field string, fields ...string) {
	t.Helper()
	e := fuzzcheck.Refusal(t, err, apperr.Invalid)
	if !slices.Contains(fields, field) || e.Field != field {
		t.Fatalf("refusal on field %q (%q), want one of %v: %v", field, e.Field, fields, err)
	}
}

// sameMoney checks that an amount read from a form is dollars and reads
// back from its own decimal.
func sameMoney(t *testing.T, m money.Money) {
	t.Helper()
	back, err := money.ParseDecimal(m.Decimal(), m.Currency)
	if m.Currency != "USD" || err != nil || back != m {
		t.Fatalf("%+v does not read back from %q: %+v %v", m, m.Decimal(), back, err)
	}
}

// FuzzConsoleForms posts any body to the owner console's forms — a SKU's
// prices, a promotion, a refund's amount, a stock change — and reads it as
// their handlers do. A refusal is INVALID_ARGUMENT naming the form's
// field, in the project's words; what is read has its amounts in dollars
// and its times in UTC, and what the checks then accept (the rules the
// checkout prices by, the promotion engine's) is shown again by the form
// and read back the same.
func FuzzConsoleForms(f *testing.F) {
	f.Add("requestId=r1&sku=PL-A5&name=Planner&price=38.00&salePrice=29.00&saleStarts=2026-12-01T00%3A00&saleEnds=2026-12-24T23%3A59&active=yes")
	f.Fuzz(func(t *testing.T, body string) {
		r := posted(body)

		// The prices form.
		pf := readPricesForm(r)
		cmd, field, err := pf.command("r1")
		if err != nil {
			refused(t, err, field, "price", "sale.price", "sale.startsAt", "sale.endsAt")
		} else {
			sameMoney(t, cmd.Price)
			s := catalog.SKU{ID: "PL-A5", Price: cmd.Price, Sale: cmd.Sale, Active: cmd.Active}
			if cmd.Sale != nil {
				sameMoney(t, cmd.Sale.Price)
				if cmd.Sale.StartsAt.Location() != time.UTC || cmd.Sale.EndsAt.Location() != time.UTC {
					t.Fatalf("sale window not in UTC: %+v", cmd.Sale)
				}
			}
			if err := catalog.CheckPricing(s); err != nil {
				fuzzcheck.Refusal(t, err, apperr.Invalid)
			} else {
				var shown pricesForm
				shown.fill(s)
				again, _, err := shown.command("r1")
				if err != nil || again.Price != cmd.Price || !reflect.DeepEqual(again.Sale, cmd.Sale) {
					t.Fatalf("pricing %+v shown as %+v reads back as %+v (%v)", cmd, shown, again, err)
				}
			}
		}

		// The promotion form.
		p, field, err := readPromotionForm(r).promotion()
		if err != nil {
			refused(t, err, field, "percent", "maxRedemptions", "maxPerEmail", "priority", "amount", "minSubtotal", "startsAt", "endsAt")
		} else {
			sameMoney(t, p.Amount)
			sameMoney(t, p.MinSubtotal)
			for _, l := range [][]string{p.Emails, p.SKUs, p.Products} {
				for _, e := range l {
					if e == "" || strings.ContainsAny(e, ", \n") {
						t.Fatalf("list entry %q", e)
					}
				}
			}
			if err := promotion.Check(p); err != nil {
				fuzzcheck.Refusal(t, err, apperr.Invalid)
			} else {
				shown := url.Values{}
				fv := formOf(p)
				for k, v := range map[string]string{"id": fv.ID, "name": fv.Name, "description": fv.Description, "kind": fv.Kind, "percent": fv.Percent,
					"amount": fv.Amount, "code": fv.Code, "emails": fv.Emails, "skus": fv.SKUs, "products": fv.Products, "startsAt": fv.StartsAt,
					"endsAt": fv.EndsAt, "minSubtotal": fv.MinSubtotal, "maxRedemptions": fv.MaxRedemptions, "maxPerEmail": fv.MaxPerEmail, "priority": fv.Priority} {
					shown.Set(k, v)
				}
				for k, on := range map[string]bool{"exclusive": fv.Exclusive, "firstOrderOnly": fv.FirstOrderOnly} {
					if on {
						shown.Set(k, "yes")
					}
				}
				again, _, err := readPromotionForm(posted(shown.Encode())).promotion()
				if err != nil || !reflect.DeepEqual(norm(again), norm(p)) {
					t.Fatalf("promotion %+v, shown and posted again, reads %+v (%v)", p, again, err)
				}
			}
		}

		// A refund's amount and a stock change.
		if amount, err := cents(r.PostFormValue("amount")); err != nil {
			refused(t, err, "amount", "amount")
		} else if amount <= 0 {
			t.Fatalf("refund amount %d accepted", amount)
		}
		if _, err := stockDelta(r.PostFormValue("delta")); err != nil {
			refused(t, err, "delta", "delta")
		}
	})
}
