package store

import "testing"

// AddImpl adds an implementation to the shared tests (eachStore, eachImpl).
func AddImpl(name string, open func(t testing.TB) Store, reopen func(t testing.TB, s Store) Store) {
	impls = append(impls, impl{name, open, reopen})
}
