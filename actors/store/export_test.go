package store

import "testing"

// AddImpl adds an implementation to the shared tests (eachStore).
func AddImpl(name string, open func(t testing.TB) Store) { impls = append(impls, impl{name, open}) }
