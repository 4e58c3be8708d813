package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
)

// alerts lists the owner's alerts: open ones (?resolved= absent), or the
// resolved ones, a page after ?after=.
func (c *Console) alerts(q request) { c.alertsPage(q, http.StatusOK, "") }

func (c *Console) alertsPage(q request, status int, failure string) {
	open := q.r.URL.Query().Get("resolved") == ""
	list, next, err := c.App.Queries.Alerts(q.r.Context(), q.who, open, q.r.URL.Query().Get("after"), owner.DefaultPage)
	if err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	c.render(q.w, q.r, status, "alerts", map[string]any{"Page": c.page(q), "Alerts": list, "Open": open, "Next": next,
		"RequestID": newRequestID(), "Error": failure})
}

// resolveAlert resolves one alert (form: key), then back to the open
// alerts.
func (c *Console) resolveAlert(q request) {
	_, err := c.App.Commands.ResolveAlert(q.r.Context(), q.who, owner.ResolveAlert{RequestID: q.r.PostFormValue("requestId"), Key: q.r.PostFormValue("key")})
	if err != nil {
		c.refuse(q, err, "", func(status int, msg, _ string) { c.alertsPage(q, status, msg) })
		return
	}
	http.Redirect(q.w, q.r, c.link("alerts"), http.StatusSeeOther)
}

// stock shows a SKU's level and its ledger (?sku=, a page after ?after=),
// with the adjustment form.
func (c *Console) stock(q request) { c.stockPage(q, http.StatusOK, "") }

func (c *Console) stockPage(q request, status int, failure string) {
	sku := strings.TrimSpace(q.r.URL.Query().Get("sku"))
	if sku == "" {
		sku = strings.TrimSpace(q.r.PostFormValue("sku"))
	}
	data := map[string]any{"Page": c.page(q), "SKU": sku, "RequestID": newRequestID(), "Error": failure}
	if sku == "" {
		rows, err := c.App.Queries.SKUs(q.r.Context(), q.who)
		if err != nil {
			c.failErr(q.w, q.r, err)
			return
		}
		data["Catalog"] = rows
	}
	if sku != "" {
		v, err := c.App.Queries.Stock(q.r.Context(), q.who, sku, q.r.URL.Query().Get("after"), owner.DefaultPage)
		switch {
		case apperr.CodeOf(err) == apperr.NotFound || apperr.CodeOf(err) == apperr.Invalid:
			data["Error"] = "No stock is kept for " + sku + "."
		case err != nil:
			c.failErr(q.w, q.r, err)
			return
		default:
			data["View"] = v
		}
	}
	c.render(q.w, q.r, status, "stock", data)
}

// adjustStock changes a SKU's stock on hand (form: sku, delta, reason),
// then back to its ledger.
func (c *Console) adjustStock(q request) {
	f := q.r.PostFormValue
	delta, err := stockDelta(f("delta"))
	if err != nil {
		c.stockPage(q, http.StatusBadRequest, apperr.As(err).Message)
		return
	}
	if _, err := c.App.Commands.AdjustStock(q.r.Context(), q.who, owner.AdjustStock{RequestID: f("requestId"), SKU: f("sku"), Delta: delta, Reason: f("reason")}); err != nil {
		c.refuse(q, err, "", func(status int, msg, _ string) { c.stockPage(q, status, msg) })
		return
	}
	http.Redirect(q.w, q.r, c.link("stock?sku="+url.QueryEscape(f("sku"))), http.StatusSeeOther)
}

// stockDelta reads the change of stock the owner typed ("12", "+12",
// "-3"): INVALID_ARGUMENT naming the field otherwise (the command checks
// its range).
func stockDelta(s string) (int64, error) {
	delta, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "+"), 10, 64)
	if err != nil {
		return 0, apperr.New(apperr.Invalid, "The change must be a whole number of units, like 12 or -3.").Because(order.ReasonMalformed).On("delta")
	}
	return delta, nil
}
