package store

import "testing"

// TestEchoesForeign: the watch's report of an own write is consumed; a
// peer's change is applied only when no own write of the key is still on
// its way (which would overwrite it); a failed own write is not waited for.
func TestEchoesForeign(t *testing.T) {
	type step struct {
		own    string // an own write noted ("-": a deletion)
		failed string // an own write that failed
		seen   string // a change the watch reported ("-": a deletion)
		want   bool   // foreign, for seen
	}
	val := func(s string) []byte {
		if s == "-" {
			return nil
		}
		return []byte(s)
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"own echo", []step{{own: "a"}, {seen: "a", want: false}}},
		{"peer alone", []step{{seen: "p", want: true}}},
		{"peer before own lands", []step{{own: "a"}, {seen: "p", want: false}, {seen: "a", want: false}}},
		{"peer after own", []step{{own: "a"}, {seen: "a"}, {seen: "p", want: true}}},
		{"two own in order", []step{{own: "a"}, {own: "b"}, {seen: "a"}, {seen: "b"}, {seen: "p", want: true}}},
		{"own deletion", []step{{own: "-"}, {seen: "-", want: false}, {seen: "-", want: true}}},
		{"failed own", []step{{own: "a"}, {failed: "a"}, {seen: "p", want: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Echoes{watching: true, pending: map[string][][]byte{}}
			for i, s := range tc.steps {
				switch {
				case s.own != "":
					e.note("k", val(s.own))
				case s.failed != "":
					e.settle("k", val(s.failed), nil)(errFailed)
				default:
					if got := e.foreign("k", val(s.seen)); got != s.want {
						t.Fatalf("step %d: foreign(%q) = %v, want %v", i, s.seen, got, s.want)
					}
				}
			}
		})
	}
}

var errFailed = ErrInvalid
