package core

// Role is what a connection is: an operator (CLI, UI, backend) or a node
// (a device that serves commands).
type Role string

// Roles. RoleAny marks a method both may call.
const (
	RoleAny      Role = ""
	RoleOperator Role = "operator"
	RoleNode     Role = "node"
)

// Scope is an operator permission.
type Scope = string

// Operator scopes. NoScope marks a method anyone authenticated may call.
const (
	NoScope        Scope = ""
	ScopeRead      Scope = "operator.read"
	ScopeWrite     Scope = "operator.write"
	ScopeAdmin     Scope = "operator.admin"
	ScopeApprovals Scope = "operator.approvals"
	ScopePairing   Scope = "operator.pairing"
)

// Scopes is a connection's effective operator scopes.
type Scopes []string

// Has reports whether the scopes grant s: admin implies every scope and write
// implies read.
func (sc Scopes) Has(s Scope) bool {
	if s == NoScope {
		return true
	}
	for _, g := range sc {
		if g == s || g == ScopeAdmin || (g == ScopeWrite && s == ScopeRead) {
			return true
		}
	}
	return false
}
