package firestoredb

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func newOrder(t *testing.T, s *Orders) *order.Order {
	t.Helper()
	o, err := order.New(testenv.ID("o"), testenv.ID("u"), "USD", time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCreateGetRoundTrip(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	s := NewOrders(env.Client, nil)
	ctx := context.Background()
	o := newOrder(t, s)
	got, err := s.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != o.UID || got.State() != order.Pending || !got.CreatedAt.Equal(o.CreatedAt) || len(got.History()) != 1 {
		t.Errorf("round trip: %+v %v", got, got.History())
	}
	if err := s.Create(ctx, o); apperr.CodeOf(err) != apperr.AlreadyExists {
		t.Errorf("second create: %v", err)
	}
	if _, err := s.Get(ctx, testenv.ID("missing")); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("missing: %v", err)
	}
	if _, _, err := s.Transition(ctx, testenv.ID("missing"), order.Move{To: order.Canceled}); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("transition of a missing order: %v", err)
	}
}

func TestTransitionWritesStateAndHistoryTogether(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	s := NewOrders(env.Client, nil)
	ctx := context.Background()
	o := newOrder(t, s)

	before, err := env.Client.Collection(OrdersCollection).Doc(o.ID).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, applied, err := s.Transition(ctx, o.ID, order.Move{From: []order.State{order.Pending}, To: order.Authorized, Actor: "stripe"})
	if err != nil || !applied {
		t.Fatalf("applied=%v err=%v", applied, err)
	}
	got, _ := s.Get(ctx, o.ID)
	h := got.History()
	if got.State() != order.Authorized || len(h) != 2 || h[1].From != order.Pending || h[1].Actor != "stripe" {
		t.Fatalf("after transition: %s %+v", got.State(), h)
	}

	// Repeating it is a no-op that does not even write.
	mid, _ := env.Client.Collection(OrdersCollection).Doc(o.ID).Get(ctx)
	_, applied, err = s.Transition(ctx, o.ID, order.Move{From: []order.State{order.Pending}, To: order.Authorized, Actor: "stripe"})
	if err != nil || applied {
		t.Fatalf("repeat: applied=%v err=%v", applied, err)
	}
	after, _ := env.Client.Collection(OrdersCollection).Doc(o.ID).Get(ctx)
	if !after.UpdateTime.Equal(mid.UpdateTime) || after.UpdateTime.Equal(before.UpdateTime) {
		t.Errorf("update times: before %v, mid %v, after repeat %v", before.UpdateTime, mid.UpdateTime, after.UpdateTime)
	}

	// A forbidden transition changes nothing.
	_, _, err = s.Transition(ctx, o.ID, order.Move{To: order.Shipped})
	if apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("forbidden: %v", err)
	}
	if got, _ := s.Get(ctx, o.ID); got.State() != order.Authorized || len(got.History()) != 2 {
		t.Errorf("a refused transition changed the order: %s", got.State())
	}
}

// Twenty writers race for the same transition: exactly one applies it, the
// others see a no-op, and none errors.
func TestConcurrentTransitionOneWinner(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	s := NewOrders(env.Client, nil)
	race(t, []*Orders{s}, 20)
}

// The same race between separate instances (separate stores, so no shared
// in-process lock): only Firestore's transaction keeps it correct.
func TestConcurrentTransitionAcrossInstances(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	stores := []*Orders{NewOrders(env.Client, nil), NewOrders(env.Client, nil), NewOrders(env.Client, nil)}
	race(t, stores, 6)
}

func race(t *testing.T, stores []*Orders, writers int) {
	t.Helper()
	ctx := context.Background()
	o := newOrder(t, stores[0])
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		errs    []error
	)
	start := make(chan struct{})
	for i := 0; i < writers; i++ {
		s := stores[i%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, applied, err := s.Transition(ctx, o.ID, order.Move{From: []order.State{order.Pending}, To: order.Authorized, Actor: "stripe"})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if applied {
				winners++
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d writers finished in %s", writers, time.Since(began).Round(time.Millisecond))
	if len(errs) > 0 {
		t.Errorf("%d writers failed, first: %v", len(errs), errs[0])
	}
	if winners != 1 {
		t.Errorf("%d winners, want exactly 1", winners)
	}
	got, _ := stores[0].Get(ctx, o.ID)
	if h := got.History(); len(h) != 2 || got.State() != order.Authorized {
		t.Errorf("final: %s with %d history entries, want authorized with 2", got.State(), len(h))
	}
}
