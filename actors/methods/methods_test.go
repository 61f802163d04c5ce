package methods_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"openclaw/actors/core"
	"openclaw/actors/methods"
	"openclaw/transport/protocol"
)

// TestSchemasMatchTypes fails when a params type changed and the committed
// schemas were not regenerated (go tool task protocol:gen), or a schema file
// describes nothing.
func TestSchemasMatchTypes(t *testing.T) {
	want, err := methods.Schemas()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", filepath.FromSlash(methods.SchemaDir))
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[name]
		switch {
		case !ok:
			t.Errorf("%s: no type describes it (run go tool task protocol:gen)", name)
		case !bytes.Equal(got, w):
			t.Errorf("%s differs from its Go type (run go tool task protocol:gen):\n%s", name, w)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s is not committed (run go tool task protocol:gen)", name)
		}
	}
}

// TestRegistry checks each declaration: a params struct, a request type
// built from it, a known owner, and an operator scope only where operators
// call.
func TestRegistry(t *testing.T) {
	owners := map[core.Owner]bool{core.OwnerHub: true, core.OwnerPresence: true, core.OwnerHealth: true,
		core.OwnerConfig: true, core.OwnerLogs: true, core.OwnerDevices: true, core.OwnerRuns: true, core.OwnerChannels: true,
		core.OwnerNodes: true, core.OwnerSessions: true, core.OwnerCron: true}
	names := methods.Registry.Names()
	if !sort.StringsAreSorted(names) || len(names) == 0 {
		t.Fatalf("names not sorted or empty: %v", names)
	}
	byType := map[reflect.Type]string{}
	for _, n := range names {
		m := methods.Registry.Lookup(n)
		// An owner tells its methods apart by the request's Go type.
		if other, dup := byType[m.Request]; dup {
			t.Errorf("%s and %s share the request type %s", n, other, m.Request)
		}
		byType[m.Request] = n
		if m.Params.Kind() != reflect.Struct {
			t.Errorf("%s: params %s is not a struct", n, m.Params)
		}
		if !owners[m.Owner] {
			t.Errorf("%s: unknown owner %q", n, m.Owner)
		}
		if m.Scope != core.NoScope && m.Role == core.RoleNode {
			t.Errorf("%s: an operator scope on a node method", n)
		}
	}
	if m := methods.Registry.Lookup("health"); m.Request != reflect.TypeOf((*methods.Health)(nil)) ||
		m.Params != reflect.TypeOf(protocol.HealthParams{}) || m.Result != reflect.TypeOf(protocol.Health{}) {
		t.Errorf("health declared as %+v", m)
	}
	if methods.Registry.Lookup("no.such") != nil {
		t.Error("lookup of an unknown method found one")
	}
}

// TestEvents: every event is listed once, connect.challenge first.
func TestEvents(t *testing.T) {
	evs := methods.Events()
	if len(evs) == 0 || evs[0] != "connect.challenge" {
		t.Fatalf("events = %v", evs)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e] {
			t.Errorf("%s listed twice", e)
		}
		seen[e] = true
	}
}
