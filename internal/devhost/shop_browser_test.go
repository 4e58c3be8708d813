package devhost

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/chromedp/chromedp"
	"github.com/readyplanner/oms/internal/browsertest"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

// The whole story in real Chromium, through the local system (both
// emulators, every trigger, the local Stripe, QuickBooks, ShipEngine and
// printer): a customer buys a printed planner and a pen set through the
// demo shop with a code, after a typing mistake the shop explains in
// words, and takes the address ShipEngine found; pays on the local Stripe's
// page and lands on the order's live page. A new owner signs in to the
// console with Google (refused until granted the owner's claim), finds
// the order waiting for review, approves it in the local
// QuickBooks, buys the parcel's label from the order's page, refunds part of
// the order (the refund form posted twice at once refunds once) and a
// cross-site form post is refused. Meanwhile the customer's page, never
// reloaded, moves invoiced → fulfilling → shipped with each part's
// tracking and then shows the refund.
func TestShopAndConsoleInChromium(t *testing.T) {
	ctx := context.Background()
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	b := browsertest.Chromium(t) // skips (or under CI fails) before the host starts where Chromium cannot
	// As a developer's .env names the storefront's origins: make dev adds
	// its own, where the shop is served.
	t.Setenv("OMS_STOREFRONT_ORIGINS", "https://shop.example.com")
	h, err := Start(ctx, Options{AuthHost: testenv.AuthHost(t), Rules: rules, Shop: filepath.Dir(rules)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()

	customer := b
	logs := browsertest.Console(customer)
	run := func(tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(tab, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			page, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s: %v\nthe page says:\n%s\nthe shop's console:\n%s", what, err, page, logs())
		}
	}
	shot := func(tab context.Context, name string) { browsertest.Screenshot(t, tab, "shop", name) }
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(tab context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	// The catalog and the cart (carts/{uid}, written by the page).
	run(customer, "the catalog", chromedp.Navigate(h.ShopURL), chromedp.WaitVisible(css(`button[data-sku="PLN-DAY-A5-LINEN"]`)))
	run(customer, "the cart", chromedp.Click(css(`button[data-sku="PLN-DAY-A5-LINEN"]`)), chromedp.WaitVisible(css(`#cart li[data-sku="PLN-DAY-A5-LINEN"]`)),
		chromedp.Click(css(`button[data-sku="PEN-SET-6"]`)), chromedp.WaitVisible(css(`#cart li[data-sku="PEN-SET-6"]`)))
	shot(customer, "catalog")

	// A cart changed after Check out closes the checkout (it held the old
	// cart): the customer checks out again.
	more, fewer := css(`#cart li[data-sku="PEN-SET-6"] button[aria-label="one more"]`), css(`#cart li[data-sku="PEN-SET-6"] button[aria-label="one fewer"]`)
	run(customer, "a cart changed during checkout", chromedp.Click(css("#check-out")), chromedp.WaitVisible(css("#customer")),
		chromedp.Click(more), chromedp.WaitVisible(css("#check-out-again")), chromedp.Click(fewer),
		chromedp.WaitVisible(chromedp.Search(`//li[@data-sku="PEN-SET-6"]//span[@class="qty"][contains(., " 1 ")]`)))

	// Checkout: a mistyped email is explained by its field; the code applies.
	email := strings.ToLower(testenv.ID("ann")) + "@example.com"
	run(customer, "checkout", chromedp.Click(css("#check-out-again")), chromedp.WaitVisible(css("#customer")),
		chromedp.SendKeys(css(`#customer [name="name"]`), "Ann Lee"), chromedp.SendKeys(css(`#customer [name="email"]`), "ann.example.com"),
		chromedp.SendKeys(css(`#customer [name="code"]`), "WELCOME10"), chromedp.Click(css(`#customer button`)),
		chromedp.WaitVisible(css("#customer .field-error")))
	if got := text(customer, "#hold"); !strings.HasPrefix(got, "We hold your items until ") {
		t.Errorf("the hold's expiry: %q", got)
	}
	if got := text(customer, "#customer .field-error"); got != "Please check your email: it does not look right." {
		t.Errorf("the mistyped email, in words: %q", got)
	}
	shot(customer, "customer-error")
	run(customer, "the customer", chromedp.SetValue(css(`#customer [name="email"]`), email), chromedp.Click(css(`#customer button`)),
		chromedp.WaitVisible(css("#address")))
	if got := text(customer, "#customer .field-note"); got != "Code applied." {
		t.Errorf("the code: %q", got)
	}

	// The address as typed differs from ShipEngine's match: the shop asks.
	fill := func(name, v string) chromedp.Action[chromedp.Void] {
		return chromedp.SendKeys(css(`#address [name="address.`+name+`"]`), v)
	}
	run(customer, "the address", fill("name", "Ann Lee"), fill("addressLine1", "500 congress avenue"), fill("cityLocality", "Austin"),
		fill("stateProvince", "TX"), fill("postalCode", "78701"), fill("phone", "512 555 0100"),
		chromedp.Click(css(`#address > button[type=submit]`)), chromedp.WaitVisible(css("#suggestion")), chromedp.WaitVisible(css("button.rate")))
	if got := text(customer, "#suggestion legend"); got != "We found a slightly different address — use it?" {
		t.Errorf("the suggestion: %q", got)
	}
	shot(customer, "address")
	run(customer, "a rate", chromedp.Click(css("button.rate")), chromedp.WaitVisible(css("#pay-now")))
	total := text(customer, "#total")
	shot(customer, "pay")

	// Pay on the local Stripe's page; back on the order's live page.
	run(customer, "Stripe's page", chromedp.Click(css("#pay-now")), chromedp.WaitVisible(chromedp.Search(`//button[.="Pay"]`)))
	run(customer, "paid", chromedp.Click(chromedp.Search(`//button[.="Pay"]`)), chromedp.WaitVisible(css("#state")))
	loc, err := chromedp.Run(customer, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	orderID := u.Query().Get("order")
	if orderID == "" {
		t.Fatalf("the success page %s names no order", loc)
	}
	// From here the page is never reloaded: a reload would drop this mark,
	// and every state the live page shows is kept in it.
	if _, err := chromedp.Run(customer, chromedp.Evaluate[bool](`window.stayed = true; window.seen = [document.querySelector("#state").dataset.state];
		new MutationObserver(() => { const s = document.querySelector("#state")?.dataset.state; if (s && window.seen.at(-1) !== s) window.seen.push(s); })
			.observe(document.querySelector("main"), { childList: true, subtree: true }); true`)); err != nil {
		t.Fatal(err)
	}
	stateIs := func(state string) {
		t.Helper()
		run(customer, "the live page shows "+state, chromedp.WaitVisible(css(`#state[data-state="`+state+`"]`)))
	}
	stateIs("invoiced")
	o, err := h.App.Orders.Get(ctx, orderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Customer.Email != email || len(o.Lines) != 2 || o.LinesDiscount().Amount == 0 || o.Shipping == nil || o.Payment == nil ||
		o.Payment.AmountCapturable != o.Total().Amount || !strings.Contains(total, dollars(o.Total().Amount)) {
		t.Errorf("the order the shop made: %+v (the page's total %s)", o, total)
	}
	shot(customer, "status-invoiced")

	// The owner: a new one signs in with Google (the local Google's
	// consent page), is refused until the owner's claim is granted (as
	// go run ./cmd/owner grant does), then signs in again and finds the
	// order waiting for review.
	owner := browsertest.Tab(t, b)
	bossEmail := strings.ToLower(testenv.ID("boss")) + "@example.com"
	withGoogle := func(then chromedp.Action[chromedp.Void]) {
		run(owner, "sign in with Google as "+bossEmail, chromedp.Navigate(h.ConsoleURL+"signin"), chromedp.Click(css("#google")),
			chromedp.WaitVisible(css("input[name=login_email]")), chromedp.SendKeys(css("input[name=login_email]"), bossEmail),
			chromedp.Click(chromedp.Search(`//button[.="Continue"]`)), then)
	}
	withGoogle(chromedp.WaitVisible(chromedp.Search(`//p[contains(., "not the store's owner")]`)))
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: h.Project})
	if err != nil {
		t.Fatal(err)
	}
	owners, err := firebaseauth.NewOwners(ctx, fb, h.App.Config.AdminClaim)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := owners.Grant(ctx, bossEmail); err != nil {
		t.Fatal(err)
	}
	withGoogle(chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "What needs you now")]`)))
	run(owner, "the order waits for review", chromedp.WaitVisible(chromedp.Search(`//h2[.="Invoices waiting for your review"]/following-sibling::*[not(@class="hint")][1][self::table]//a[.="`+orderID+`"]`)))
	browsertest.Screenshot(t, owner, "shop", "console-start")

	// Approves it in the local QuickBooks, through the order page's invoice link.
	run(owner, "the order's page", chromedp.Navigate(h.ConsoleURL+"orders/"+orderID), chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "`+orderID+`")]`)))
	link, err := chromedp.Run(owner, chromedp.AttributeValue(chromedp.Search(`//a[.="`+o.Invoice.DocNumber+`"]`), "href"))
	if err != nil || !strings.HasPrefix(link.Value, h.QuickBooks.URL) {
		t.Fatalf("the invoice's link into QuickBooks: %q %v", link.Value, err)
	}
	run(owner, "QuickBooks records the payment", chromedp.Navigate(link.Value),
		chromedp.Click(chromedp.Search(`//tr[td[.="`+o.Invoice.DocNumber+`"]]//button[.="Record payment"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1`)))
	stateIs("fulfilling")
	run(owner, "the parcel to ship", chromedp.Navigate(h.ConsoleURL), chromedp.WaitVisible(chromedp.Search(`//h2[.="Parcels to ship"]/following-sibling::*[not(@class="hint")][1][self::table]//a[.="`+orderID+`"]`)))

	// Ships the parcel from the console: buys its label (the confirmation
	// accepted); the carrier scans it; the printer prints and ships the planner.
	run(owner, "buy the label", chromedp.Navigate(h.ConsoleURL+"orders/"+orderID), chromedp.Click(css(`form[action$="/buy-label"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "labelled")]`)))
	browsertest.Screenshot(t, owner, "shop", "console-labelled")
	o, _ = h.App.Orders.Get(ctx, orderID)
	parcel := o.Part(order.PartParcel)
	if parcel == nil || parcel.Label() == nil {
		t.Fatalf("no label on the parcel: %+v", parcel)
	}
	if err := h.ShipEngine.Track(parcel.Label().ID, "accepted"); err != nil {
		t.Fatal(err)
	}
	run(customer, "the parcel in transit", chromedp.WaitVisible(chromedp.Search(`//li[@data-part="parcel"]//a[.="`+parcel.Label().TrackingNumber+`"]`)))
	_, job := printJob(t, h, orderID)
	if err := h.Printer.AdvanceTo(job, "IN_PRODUCTION"); err != nil {
		t.Fatal(err)
	}
	run(customer, "the planner being printed", chromedp.WaitVisible(chromedp.Search(`//li[@data-part="print"]//span[.="being printed"]`)))
	if _, err := h.Printer.Advance(job); err != nil { // → SHIPPED
		t.Fatal(err)
	}
	stateIs("shipped")
	run(customer, "the planner's tracking", chromedp.WaitVisible(chromedp.Search(`//li[@data-part="print"]//a`)))
	shot(customer, "status-shipped")

	// Refunds part of it: the form posted twice at once (a double click
	// that both fire) and then submitted as the owner does: one refund.
	run(owner, "the refund form", chromedp.Navigate(h.ConsoleURL+"orders/"+orderID), chromedp.WaitVisible(css(`form[action$="/refund"]`)),
		chromedp.SendKeys(css(`form[action$="/refund"] input[name=amount]`), "5.00"),
		chromedp.SendKeys(css(`form[action$="/refund"] input[name=reason]`), "a scuffed cover"))
	statuses, err := chromedp.Run(owner, chromedp.Evaluate[[]int](`(async () => {
		const f = document.querySelector('form[action$="/refund"]');
		const post = () => fetch(f.action, { method: "POST", body: new URLSearchParams(new FormData(f)) }).then((r) => r.status);
		return Promise.all([post(), post()]);
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 2 || statuses[0] != 200 || statuses[1] != 200 {
		t.Errorf("the refund form posted twice at once answered %v, want the order's page twice", statuses)
	}
	run(owner, "the refund submitted", chromedp.Click(css(`form[action$="/refund"] button`)), chromedp.WaitVisible(chromedp.Search(`//h2[contains(., "Refunds")]`)))
	browsertest.Screenshot(t, owner, "shop", "console-refunded")
	run(customer, "the refund on the live page", chromedp.WaitVisible(css("#refunded")))
	if got := text(customer, "#refunded"); got != "Refunded to your card: $5.00" {
		t.Errorf("the live page's refund: %q", got)
	}
	shot(customer, "status-refunded")

	// A cross-site form post (another origin's page, submitting to the
	// console with the owner signed in) is refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><form method="post" action="` + h.ConsoleURL + `orders/` + orderID + `/refund">
<input name="amount" value="20.00"><input name="reason" value="x"><input name="requestId" value="evil-1"><input name="csrf" value="guess"></form>
<script>document.forms[0].submit()</script>`))
	}))
	defer evil.Close()
	// SameSite=Strict keeps the session cookie off a post from another
	// site, so the console sees no session (and the form has no token).
	run(owner, "the cross-site post", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.Search(`//p[contains(., "sign in again")]`)))
	loc, _ = chromedp.Run(owner, chromedp.Location())
	if !strings.HasPrefix(loc, h.ConsoleURL) {
		t.Errorf("the cross-site post ended at %s", loc)
	}
	browsertest.Screenshot(t, owner, "shop", "console-cross-site")

	o, _ = h.App.Orders.Get(ctx, orderID)
	if o.Payment == nil || len(o.Payment.Refunds) != 1 || o.Payment.Refunds[0].Amount != 500 {
		t.Errorf("refunds after a double submit and a cross-site post: %+v (the two posts answered %v)", o.Payment, statuses)
	}
	if n := len(h.Stripe.Refunds()); n != 1 {
		t.Errorf("the local Stripe made %d refunds, want 1", n)
	}

	// The live page saw every step without a reload.
	var seen []string
	stayed, err := chromedp.Run(customer, chromedp.Evaluate[bool](`window.stayed === true`))
	if err != nil || !stayed {
		t.Errorf("the customer's page was reloaded (%v)", err)
	}
	raw, _ := chromedp.Run(customer, chromedp.Evaluate[json.RawMessage](`window.seen`))
	_ = json.Unmarshal(raw, &seen)
	if i, j := slices.Index(seen, "fulfilling"), slices.Index(seen, "shipped"); i < 0 || j < i {
		t.Errorf("the live page showed %v", seen)
	}
	t.Logf("the live page showed %v", seen)
	if l := logs(); regexp.MustCompile(`exception|console\.error`).MatchString(l) {
		t.Errorf("the shop's console:\n%s", l)
	}
}

func dollars(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }
