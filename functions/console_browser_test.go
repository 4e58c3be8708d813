package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/readyplanner/oms/internal/browsertest"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

// In real Chromium: the owner signs in on the sign-in page (its script
// signs in to the Auth emulator and posts the token), sees the start
// page, opens an order whose customer's name is markup (shown as text,
// no script run), refunds part of it through the confirmation, and sees
// the refund on the page; a non-owner who signs in is refused.
func TestConsoleInChromium(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "A", 1)
	if _, _, err := a.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		cur.Customer.Name = `<img src=x onerror="document.title='pwned'">`
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	owners := ownersOf(t, a)
	bossEmail, shopperEmail := strings.ToLower(testenv.ID("boss"))+"@example.com", strings.ToLower(testenv.ID("shop"))+"@example.com"
	for _, e := range []string{bossEmail, shopperEmail} {
		if _, err := owners.EnsureAccount(ctx, e, "a-long-password"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := owners.Grant(ctx, bossEmail); err != nil {
		t.Fatal(err)
	}
	srv := consoleAt(t, a, nil)
	b := browsertest.Chromium(t)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(b, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			html, _ := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\n%.1500s", what, err, html)
		}
	}
	signIn := func(email string) {
		run("sign in as "+email, chromedp.Navigate(srv.URL+"/owner/signin"), chromedp.WaitVisible(chromedp.ID("signin")),
			chromedp.SendKeys(chromedp.CSS("input[name=email]"), email), chromedp.SendKeys(chromedp.CSS("input[name=password]"), "a-long-password"),
			chromedp.Click(chromedp.CSS("#signin button")))
	}

	signIn(shopperEmail)
	run("a non-owner refused", chromedp.WaitVisible(chromedp.Search(`//p[@class="error"][contains(., "not the store's owner")]`)))
	browsertest.Screenshot(t, b, "console", "refused")

	signIn(bossEmail)
	run("the start page", chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "What needs you now")]`)))
	browsertest.Screenshot(t, b, "console", "start")

	run("the order's page", chromedp.Navigate(srv.URL+"/owner/orders/"+o.ID), chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "`+o.ID+`")]`)))
	title, err := chromedp.Run(b, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	customer, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(".card")))
	if err != nil {
		t.Fatal(err)
	}
	if title == "pwned" || !strings.Contains(customer, `<img src=x onerror=`) {
		t.Errorf("the customer's name as markup: title %q, shown %q", title, customer)
	}
	browsertest.Screenshot(t, b, "console", "order")

	run("a partial refund", chromedp.SendKeys(chromedp.CSS("input[name=amount]"), "5.00"), chromedp.SendKeys(chromedp.CSS(`form[action$="/refund"] input[name=reason]`), "a scuffed cover"),
		chromedp.Click(chromedp.CSS(`form[action$="/refund"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[contains(., "Refunds")]`)))
	browsertest.Screenshot(t, b, "console", "refunded")
	run("the alerts", chromedp.Navigate(srv.URL+"/owner/alerts"), chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Open alerts")]`)))
	browsertest.Screenshot(t, b, "console", "alerts")
	run("every SKU's stock", chromedp.Navigate(srv.URL+"/owner/stock"), chromedp.WaitVisible(chromedp.Search(`//a[.="`+s.sku["A"]+`"]`)))
	browsertest.Screenshot(t, b, "console", "stock-all")
	run("every SKU's prices", chromedp.Navigate(srv.URL+"/owner/prices"), chromedp.WaitVisible(chromedp.Search(`//a[.="`+s.sku["A"]+`"]`)))
	browsertest.Screenshot(t, b, "console", "prices-all")
	run("the stock", chromedp.Navigate(srv.URL+"/owner/stock?sku="+s.sku["A"]), chromedp.WaitVisible(chromedp.Search(`//h2[contains(., "Ledger")]`)))
	browsertest.Screenshot(t, b, "console", "stock")
	run("the promotions", chromedp.Navigate(srv.URL+"/owner/promotions"), chromedp.WaitVisible(chromedp.Search(`//h2[contains(., "A new promotion")]`)))
	browsertest.Screenshot(t, b, "console", "promotions")
	run("the prices", chromedp.Navigate(srv.URL+"/owner/prices?sku="+s.sku["A"]), chromedp.WaitVisible(chromedp.CSS(`input[name=price]`)))
	browsertest.Screenshot(t, b, "console", "prices")
	run("QuickBooks", chromedp.Navigate(srv.URL+"/owner/quickbooks"), chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "QuickBooks")]`)))
	browsertest.Screenshot(t, b, "console", "quickbooks")
	cur, _ := a.Orders.Get(ctx, o.ID)
	if cur.Payment == nil || len(cur.Payment.Refunds) != 1 || cur.Payment.Refunds[0].Amount != 500 {
		t.Errorf("the refund asked in the browser: %+v", cur.Payment)
	}
}
