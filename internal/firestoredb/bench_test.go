package firestoredb

import (
	"context"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkTransition is one compare-and-set state change (transaction:
// read, check, write state and history) on the emulator.
func BenchmarkTransition(b *testing.B) {
	env := testenv.Firestore(b)
	s := NewOrders(env.Client, nil)
	ctx := context.Background()
	ids := make([]string, b.N)
	for i := range ids {
		o, _ := order.New(testenv.ID("bench"), "u", "USD", time.Now().UTC())
		if err := s.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		ids[i] = o.ID
	}
	b.ResetTimer()
	for _, id := range ids {
		if _, applied, err := s.Transition(ctx, id, order.Move{From: []order.State{order.Pending}, To: order.Authorized}); err != nil || !applied {
			b.Fatal(applied, err)
		}
	}
}
