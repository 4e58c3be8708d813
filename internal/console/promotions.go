package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/promotion"
)

// promotionForm is the promotion form as the owner filled it, and the
// error of the field it names.
// It carries every field of a promotion, so that changing one keeps
// what the owner did not touch (its products, first-order rule, limits
// per email and priority).
type promotionForm struct {
	ID, Name, Description, Kind, Percent, Amount, Code, Emails, SKUs, Products, StartsAt, EndsAt, MinSubtotal string
	MaxRedemptions, MaxPerEmail, Priority                                                                     string
	Exclusive, FirstOrderOnly                                                                                 bool
	// Editing is true when the form changes an existing promotion (its id
	// is kept).
	Editing      bool
	Field, Error string
}

// formOf is a promotion as the form shows it, to change it.
func formOf(p promotion.Promotion) promotionForm {
	f := promotionForm{ID: p.ID, Name: p.Name, Description: p.Description, Kind: string(p.Kind), Code: p.Code, Emails: strings.Join(p.Emails, ", "),
		SKUs: strings.Join(p.SKUs, ", "), Products: strings.Join(p.Products, ", "), Exclusive: p.Exclusive, FirstOrderOnly: p.FirstOrderOnly, Editing: true}
	num := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	f.Percent, f.MaxRedemptions, f.MaxPerEmail, f.Priority = num(p.Percent), num(p.MaxRedemptions), num(p.MaxRedemptionsPerEmail), num(p.Priority)
	if p.Amount.Amount != 0 {
		f.Amount = p.Amount.Decimal()
	}
	if p.MinSubtotal.Amount != 0 {
		f.MinSubtotal = p.MinSubtotal.Decimal()
	}
	f.StartsAt, f.EndsAt = fieldTime(p.StartsAt), fieldTime(p.EndsAt)
	return f
}

// promotions lists every promotion with its usage so far, and the form
// that creates one.
func (c *Console) promotions(q request) {
	form := promotionForm{Kind: string(promotion.PercentOffOrder)}
	if id := q.r.URL.Query().Get("edit"); id != "" {
		list, err := c.App.Promotions(q.r.Context(), q.who)
		if err != nil {
			c.failErr(q.w, q.r, err)
			return
		}
		found := false
		for _, u := range list {
			if u.Promotion.ID == id {
				if !u.Promotion.Active {
					c.promotionsPage(q, http.StatusConflict, form, "Promotion "+id+" has ended: make a new one.")
					return
				}
				form, found = formOf(u.Promotion), true
			}
		}
		if !found {
			c.promotionsPage(q, http.StatusNotFound, form, "There is no promotion "+id+".")
			return
		}
	}
	c.promotionsPage(q, http.StatusOK, form, "")
}

func (c *Console) promotionsPage(q request, status int, form promotionForm, failure string) {
	list, err := c.App.Promotions(q.r.Context(), q.who)
	if err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	c.render(q.w, q.r, status, "promotions", map[string]any{"Page": c.page(q), "Promotions": list, "Form": form, "RequestID": newRequestID(),
		"Error": failure, "Kinds": []promotion.Kind{promotion.PercentOffOrder, promotion.AmountOffOrder, promotion.PercentOffItems,
			promotion.AmountOffItems, promotion.FreeShipping}})
}

// savePromotion creates (or replaces) a promotion from the form, checked
// with the engine's rules: a refusal comes back next to its field.
func (c *Console) savePromotion(q request) {
	form := readPromotionForm(q.r)
	p, field, err := form.promotion()
	if err == nil {
		_, err = c.App.Commands.SavePromotion(q.r.Context(), q.who, owner.SavePromotion{RequestID: strings.TrimSpace(q.r.PostFormValue("requestId")), Promotion: p, Change: form.Editing})
	}
	if err != nil {
		c.refuse(q, err, field, func(status int, msg, field string) {
			form.Field, form.Error = field, msg
			c.promotionsPage(q, status, form, "")
		})
		return
	}
	http.Redirect(q.w, q.r, c.link("promotions"), http.StatusSeeOther)
}

// readPromotionForm is the promotion form as posted (values trimmed).
func readPromotionForm(r *http.Request) promotionForm {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return promotionForm{ID: f("id"), Name: f("name"), Description: f("description"), Kind: f("kind"), Percent: f("percent"), Amount: f("amount"),
		Code: f("code"), Emails: f("emails"), SKUs: f("skus"), Products: f("products"), StartsAt: f("startsAt"), EndsAt: f("endsAt"),
		MinSubtotal: f("minSubtotal"), MaxRedemptions: f("maxRedemptions"), MaxPerEmail: f("maxPerEmail"), Priority: f("priority"),
		Exclusive: f("exclusive") == "yes", FirstOrderOnly: f("firstOrderOnly") == "yes", Editing: f("editing") == "yes"}
}

// endPromotion ends one now (form: id).
func (c *Console) endPromotion(q request) {
	_, err := c.App.Commands.EndPromotion(q.r.Context(), q.who, owner.EndPromotion{RequestID: q.r.PostFormValue("requestId"), ID: q.r.PostFormValue("id")})
	if err != nil {
		c.refuse(q, err, "", func(status int, msg, _ string) {
			c.promotionsPage(q, status, promotionForm{Kind: string(promotion.PercentOffOrder)}, msg)
		})
		return
	}
	http.Redirect(q.w, q.r, c.link("promotions"), http.StatusSeeOther)
}

// promotion reads the form: a value that is not what its field takes is
// INVALID_ARGUMENT naming the field (the engine checks the rest).
func (f promotionForm) promotion() (promotion.Promotion, string, error) {
	bad := func(field, format string, args ...any) (promotion.Promotion, string, error) {
		return promotion.Promotion{}, field, apperr.New(apperr.Invalid, format, args...).Because(order.ReasonMalformed).On(field)
	}
	p := promotion.Promotion{ID: f.ID, Name: f.Name, Description: f.Description, Active: true, Kind: promotion.Kind(f.Kind), Code: f.Code,
		Exclusive: f.Exclusive, FirstOrderOnly: f.FirstOrderOnly, Amount: money.New(0, "USD"), MinSubtotal: money.New(0, "USD")}
	for _, n := range []struct {
		field, value, words string
		dst                 *int64
	}{
		{"percent", f.Percent, "percent must be a whole number from 1 to 100", &p.Percent},
		{"maxRedemptions", f.MaxRedemptions, "maxRedemptions must be a whole number (0: no limit)", &p.MaxRedemptions},
		{"maxPerEmail", f.MaxPerEmail, "maxPerEmail must be a whole number (0: no limit)", &p.MaxRedemptionsPerEmail},
		{"priority", f.Priority, "priority must be a whole number (lower applies first)", &p.Priority},
	} {
		if n.value == "" {
			continue
		}
		v, err := strconv.ParseInt(n.value, 10, 64)
		if err != nil {
			return bad(n.field, "%s", n.words)
		}
		*n.dst = v
	}
	for _, m := range []struct {
		field, value string
		dst          *money.Money
	}{{"amount", f.Amount, &p.Amount}, {"minSubtotal", f.MinSubtotal, &p.MinSubtotal}} {
		if m.value == "" {
			continue
		}
		v, err := money.ParseDecimal(strings.TrimPrefix(m.value, "$"), "USD")
		if err != nil {
			return bad(m.field, "%s must be an amount in dollars, like 5.00", m.field)
		}
		*m.dst = v
	}
	for _, d := range []struct {
		field, value string
		dst          *time.Time
	}{{"startsAt", f.StartsAt, &p.StartsAt}, {"endsAt", f.EndsAt, &p.EndsAt}} {
		if d.value == "" {
			continue
		}
		t, err := parseFieldTime(d.value)
		if err != nil {
			return bad(d.field, "%s must be a date and time (UTC)", d.field)
		}
		*d.dst = t.UTC()
	}
	list := func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }
	p.Emails, p.SKUs, p.Products = strings.FieldsFunc(f.Emails, list), strings.FieldsFunc(f.SKUs, list), strings.FieldsFunc(f.Products, list)
	return p, "", nil
}
