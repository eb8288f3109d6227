package csi

import "sync"

// keyedMutex serializes operations on one key (a volume id or a target
// path): the CSI spec lets the CO retry a call while the first still runs.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry // GUARDED_BY(mu)
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int // GUARDED_BY(keyedMutex.mu)
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
