package firestoredb

import (
	"context"
	"sync"
)

// keyLock serializes work on the same key within one process. Firestore's
// transactions are what make concurrent writers correct across instances;
// this only keeps writers of one instance from piling up on the same
// document's lock, which on the emulator (pessimistic locks, about 2 s lock
// timeouts) turns N concurrent readers into about N rounds of aborts.
type keyLock struct {
	mu    sync.Mutex
	locks map[string]*keyEntry
}

type keyEntry struct {
	ch   chan struct{} // holds one token while the key is locked
	refs int
}

// lock waits for key (or for ctx to end) and returns the unlock function.
func (k *keyLock) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyEntry{ch: make(chan struct{}, 1)}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
