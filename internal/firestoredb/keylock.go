package firestoredb

import (
	"context"
	"slices"
	"sync"
)

// keyLock serializes work on the same key within one process. There is one
// per Orders store, shared by every store that writes orders, with keys
// named by kind: order/<id>, uid/<uid>, sku/<id>, promotion/<id>. Firestore's
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

// lockAll locks every key (or none, if ctx ends first) in sorted order, so
// that two callers locking overlapping sets can never wait for each other,
// and returns the function that unlocks them all.
func (k *keyLock) lockAll(ctx context.Context, keys ...string) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var unlocks []func()
	unlockAll := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, key := range keys {
		unlock, err := k.lock(ctx, key)
		if err != nil {
			unlockAll()
			return nil, err
		}
		unlocks = append(unlocks, unlock)
	}
	return unlockAll, nil
}
