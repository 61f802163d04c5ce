// Package core is the vocabulary the gateway's actors share, and nothing
// else: roles and scopes, the method and request types the registry
// (actors/methods) is written in, the messages actors send each other, and
// Live, the one kind of shared state (a value an owner swaps and others
// read). It imports only the config and the wire vocabulary
// (transport/protocol): never the store, never a transport, never an actor
// package. Actor packages import core and actors/methods, never each other;
// what each actor talks to it is given at construction (its Deps), by the
// composition root in actors/gateway. docs/ARCHITECTURE.md draws the tree.
package core
