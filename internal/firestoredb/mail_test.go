package firestoredb

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/testenv"
)

// What a mail's delivery record may become is decided by
// messages.Delivery's methods, table-tested there without the emulator.
// These tests keep what only the emulator shows: that the store's
// transactions let one writer win, and that the record stored is the one
// the decision answered.

// utc is d with its times in UTC, as the store's reads answer them in the
// local zone.
func utc(d messages.Delivery) messages.Delivery {
	d.StartTime, d.EndTime, d.LeaseExpire, d.NextAttempt = d.StartTime.UTC(), d.EndTime.UTC(), d.LeaseExpire.UTC(), d.NextAttempt.UTC()
	return d
}

func readDelivery(t *testing.T, s *Mail, id string) messages.Delivery {
	t.Helper()
	_, d, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return utc(d)
}

// Five senders claim one queued mail at once: exactly one takes it, and a
// finish from another attempt leaves its record alone.
func TestMailClaimHasOneWinner(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	ctx := context.Background()
	s := NewMail(env.Client, true)
	id := testenv.ID("mail")
	now := time.Now().UTC().Truncate(time.Microsecond) // Firestore's precision
	if _, err := s.Queue(ctx, messages.Mail{ID: id, To: "a@example.com", Subject: "s", Text: "t"}, now); err != nil {
		t.Fatal(err)
	}
	if got, want := readDelivery(t, s, id), messages.Queued(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("queued: %+v, want %+v", got, want)
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, claimed, err := s.Claim(ctx, id, now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if claimed {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d claims won, want 1", won.Load())
	}
	taken := messages.Delivery{State: messages.StateProcessing, Attempts: 1, StartTime: now, LeaseExpire: now.Add(time.Minute)}
	if got := readDelivery(t, s, id); !reflect.DeepEqual(got, taken) {
		t.Fatalf("claimed: %+v, want %+v", got, taken)
	}
	if err := s.Finish(ctx, id, messages.Delivery{State: messages.StateSuccess, Attempts: 2, EndTime: now}); err != nil {
		t.Fatal(err)
	}
	if got := readDelivery(t, s, id); !reflect.DeepEqual(got, taken) {
		t.Errorf("after another attempt's finish: %+v, want %+v", got, taken)
	}
	if err := s.Finish(ctx, id, messages.Delivery{State: messages.StateSuccess, Attempts: 1, StartTime: now, EndTime: now, MessageID: "<m@x>", Response: "250 OK"}); err != nil {
		t.Fatal(err)
	}
	if got := readDelivery(t, s, id); got.State != messages.StateSuccess || got.MessageID != "<m@x>" {
		t.Errorf("after its own finish: %+v", got)
	}
}

// A mail the built-in sender scheduled is handed over with a write of its
// state and nextAttempt (null: the extension acts on it); once taken, its
// lease ending ends it in ERROR, once.
func TestMailHandOverAndExpire(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	ctx := context.Background()
	s := NewMail(env.Client, true)
	id := testenv.ID("mail")
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.Queue(ctx, messages.Mail{ID: id, To: "a@example.com", Subject: "s", Text: "t"}, now); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if handed, err := s.HandOver(ctx, id); err != nil || handed != want {
			t.Fatalf("hand over #%d: %v %v, want %v", i+1, handed, err, want)
		}
	}
	snap, err := env.Client.Collection(MailCollection).Doc(id).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := snap.Data()["delivery"].(map[string]any)
	if next, ok := rec["nextAttempt"]; rec["state"] != messages.StateRetry || !ok || next != nil {
		t.Errorf("handed over: %v", rec)
	}
	// The built-in sender may still take it (RETRY, no next attempt).
	if _, _, claimed, err := s.Claim(ctx, id, now, now.Add(time.Minute)); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if _, ended, err := s.Expire(ctx, id, now, "lost"); err != nil || ended {
		t.Errorf("expired within its lease: %v %v", ended, err)
	}
	for i, want := range []bool{true, false} {
		if _, ended, err := s.Expire(ctx, id, now.Add(2*time.Minute), "lost"); err != nil || ended != want {
			t.Errorf("expire #%d: %v %v, want %v", i+1, ended, err, want)
		}
	}
	want := messages.Delivery{State: messages.StateError, Attempts: 1, StartTime: now, EndTime: now.Add(2 * time.Minute), Error: "lost"}
	if got := readDelivery(t, s, id); !reflect.DeepEqual(got, want) {
		t.Errorf("expired: %+v, want %+v", got, want)
	}
}
