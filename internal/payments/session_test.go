package payments

import (
	"math/rand"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
)

// The session's lines add up to the order's lines after discounts, to the
// cent, for awkward discounts too; no amount is negative.
func TestSessionLinesSumExactly(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for iter := 0; iter < 3000; iter++ {
		o, _ := order.New("o", "u", "USD", time.Now())
		var want int64
		for i := 0; i < 1+r.Intn(4); i++ {
			q := int64(1 + r.Intn(7))
			unit := int64(1 + r.Intn(5000))
			total := unit * q
			disc := int64(r.Intn(int(total) + 1))
			o.Lines = append(o.Lines, pricing.Line{Name: "x", Quantity: q, UnitPrice: money.New(unit, "USD"), Total: money.New(total, "USD")})
			o.Pricing.LineDiscounts = append(o.Pricing.LineDiscounts, money.New(disc, "USD"))
			want += total - disc
		}
		var got int64
		for _, l := range SessionLines(o) {
			if l.UnitAmount < 0 || l.Quantity < 1 {
				t.Fatalf("line %+v", l)
			}
			got += l.UnitAmount * l.Quantity
		}
		if got != want {
			t.Fatalf("session lines sum to %d, order lines to %d", got, want)
		}
	}
	// 10.00 off 3 × 19.99 leaves 49.97 for 3 units: 16.65 each is 49.95, so
	// the 2 cents left go to 2 units: 1 × 16.65 + 2 × 16.66.
	o, _ := order.New("o", "u", "USD", time.Now())
	o.Lines = []pricing.Line{{Name: "Planner", Quantity: 3, Total: money.New(5997, "USD")}}
	o.Pricing.LineDiscounts = []money.Money{money.New(1000, "USD")}
	lines := SessionLines(o)
	if len(lines) != 2 || lines[0] != (SessionLine{"Planner", 1665, 1}) || lines[1] != (SessionLine{"Planner", 1666, 2}) {
		t.Errorf("lines %+v", lines)
	}
}
