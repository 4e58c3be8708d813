package firestoredb

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeyLockSerializesPerKey(t *testing.T) {
	var k keyLock
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := k.lock(context.Background(), "o1")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > maxInside.Load() {
				maxInside.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d holders at once, want 1", maxInside.Load())
	}
	if len(k.locks) != 0 {
		t.Errorf("%d entries left behind", len(k.locks))
	}
}

func TestKeyLockOtherKeysAndCancel(t *testing.T) {
	var k keyLock
	unlock, _ := k.lock(context.Background(), "a")
	// Another key is not blocked.
	unlockB, err := k.lock(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	// A waiter on a held key gives up when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := k.lock(ctx, "a"); err == nil {
		t.Fatal("lock on a held key returned before its context ended")
	}
	unlock()
	if len(k.locks) != 0 {
		t.Errorf("%d entries left behind", len(k.locks))
	}
}
