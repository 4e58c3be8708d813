package messages

import (
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

func TestFormat(t *testing.T) {
	for m, want := range map[money.Money]string{
		money.New(5390, "USD"): "$53.90", money.New(123456789, "USD"): "$1,234,567.89", money.New(5, "EUR"): "€0.05",
		money.New(1200, "JPY"): "1,200 JPY", money.New(-250, "GBP"): "-£2.50",
	} {
		if got := Format(m); got != want {
			t.Errorf("Format(%v) = %q, want %q", m, got, want)
		}
	}
}

// Every template renders with the sample, HTML and text, a subject, the
// store's identity and support address in both; values are escaped in
// the HTML only.
func TestTemplatesRender(t *testing.T) {
	store := Store{Name: "Shop & Co", Address: "1 Main St", SupportEmail: "help@shop.example", URL: "https://shop.example", BrandColor: "#123456"}
	for _, name := range Templates {
		v := Sample(store)
		v.Order.CustomerName = `<img src=x onerror=alert(1)>`
		v.Summary.Groups[0].Orders[0].Customer = v.Order.CustomerName
		r, err := Render(name, v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Subject == "" || strings.Contains(r.Subject, "\n") {
			t.Errorf("%s: subject %q", name, r.Subject)
		}
		for _, body := range []string{r.Text, r.HTML} {
			if !strings.Contains(body, "help@shop.example") || !strings.Contains(body, "1 Main St") {
				t.Errorf("%s: the store's identity is missing:\n%s", name, body)
			}
		}
		if strings.Contains(r.HTML, "<img src=x") || !strings.Contains(r.HTML, "&lt;img src=x") || !strings.Contains(r.HTML, "Shop &amp; Co") {
			t.Errorf("%s: the HTML does not escape:\n%s", name, r.HTML)
		}
		if !strings.Contains(r.Text, "<img src=x onerror=alert(1)>") || !strings.Contains(r.Text, "Shop & Co") {
			t.Errorf("%s: the text shows the values otherwise:\n%s", name, r.Text)
		}
	}
	if _, err := Render("nope", Sample(store)); err == nil {
		t.Error("an unknown template rendered")
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]string{1: "1m0s", 2: "2m0s", 3: "4m0s", 6: "32m0s", 7: "1h0m0s", 20: "1h0m0s"} {
		if got := Backoff(n).String(); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// The shipping email says "the rest ships separately" only while another
// part of the order has yet to ship: not in the last part's email, nor in
// the one of an order shipped in one part.
func TestShippedEmailSaysWhatIsLeft(t *testing.T) {
	printed := order.Part{ID: order.PartPrint, Kind: order.PartPrint, Status: order.PartShipped, Carrier: "UPS", TrackingNumber: "1Z"}
	packed := order.Part{ID: order.PartParcel, Kind: order.PartParcel, Status: order.PartShipped, Carrier: "USPS", TrackingNumber: "9400"}
	waiting := packed
	waiting.Status, waiting.Carrier, waiting.TrackingNumber = "", "", ""
	for _, c := range []struct {
		name   string
		parts  []order.Part
		others bool
	}{
		{"the first of two", []order.Part{printed, waiting}, true},
		{"the last of two", []order.Part{printed, packed}, false},
		{"the only one", []order.Part{printed}, false},
	} {
		o := &order.Order{ID: "K7Q2M9XH4TBA", Parts: c.parts}
		pv := PartViewOf(o, printed)
		r, err := Render("shipped", View{Order: OrderViewOf(o), Part: pv})
		if err != nil {
			t.Fatal(err)
		}
		if pv.Others != c.others || strings.Contains(r.Text, "ships separately") != c.others || strings.Contains(r.HTML, "ships separately") != c.others {
			t.Errorf("%s: Others = %v, the email:\n%s", c.name, pv.Others, r.Text)
		}
	}
}
