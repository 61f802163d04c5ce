package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeyLines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int // a subset of the result
		none []string       // paths that must not be found
	}{
		{
			name: "nested objects",
			src:  "{\n a: {\n  b: 1,\n  c: { d: 2 },\n },\n e: 3,\n}",
			want: map[string]int{"a": 2, "a.b": 3, "a.c": 4, "a.c.d": 4, "e": 6},
		},
		{
			name: "quotes and escapes",
			src:  "{\n\"a\\\"b\": 1,\n'it\\'s': {\n'\\u0078': 2}}",
			want: map[string]int{`a"b`: 2, "it's": 3, "it's.x": 4},
		},
		{
			name: "lists",
			src:  "{list: [\n {id: 1},\n {id: 2,\n  x: [ {y: 1}, {y: 2} ]},\n]}",
			want: map[string]int{"list": 1, "list[0]": 2, "list[0].id": 2, "list[1]": 3, "list[1].id": 3, "list[1].x[0].y": 4, "list[1].x[1]": 4},
		},
		{
			name: "comments and strings are not keys",
			src:  "{\n // k: 1\n /* k: 2\n k: 3 */ a: 'k: 4',\n b: \"{k: 5}\",\n k: 6}",
			want: map[string]int{"a": 4, "b": 5, "k": 6},
		},
		{
			name: "a repeated key: the last one counts",
			src:  "{a: 1,\n a: 2}",
			want: map[string]int{"a": 2},
		},
		{
			name: "values that look like keys",
			src:  "{a: b,\n c: [d,\n e]}",
			want: map[string]int{"a": 1, "c": 2, "c[0]": 2, "c[1]": 3},
			none: []string{"b", "d", "c.d", "a.b"},
		},
		{
			name: "multi-line string with continuation",
			src:  "{a: 'x\\\ny',\n b: 1}",
			want: map[string]int{"a": 1, "b": 3},
		},
		{
			name: "CR line ends and a BOM",
			src:  "\uFEFF{\r\n a: 1,\r b: 2}",
			want: map[string]int{"a": 2, "b": 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := keyLines([]byte(tt.src))
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("line of %q = %d, want %d (all: %v)", k, got[k], v, got)
				}
			}
			for _, k := range tt.none {
				if _, ok := got[k]; ok {
					t.Errorf("%q found as a key (all: %v)", k, got)
				}
			}
		})
	}
}

// Every key of the full fixture is found on the line it is written on.
func TestKeyLinesFixture(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "full.json5"))
	if err != nil {
		t.Fatal(err)
	}
	got := keyLines(src)
	for path, line := range map[string]int{
		"meta":                                     5,
		"gateway.auth.token":                       22,
		"gateway.nodes.pairing.autoApproveLocal":   36,
		"agents.list[1].model.primary":             58,
		"models.providers.openrouter.models[0].id": 80,
		"channels.telegram.accounts.work.botToken": 104,
		"channels.telegram.accounts.alerts":        114,
		"commands.restart":                         123,
	} {
		if got[path] != line {
			t.Errorf("line of %s = %d, want %d", path, got[path], line)
		}
	}
}

func TestLineFor(t *testing.T) {
	lines := map[string]int{"a": 1, "a.b": 2, "a.l": 3}
	for path, want := range map[string]int{
		"a.b":      2,
		"a.b.c":    2, // nearest ancestor
		"a.l[2]":   3,
		"a.l[2].x": 3,
		"z":        0,
		"":         0,
	} {
		if got := lineFor(lines, path); got != want {
			t.Errorf("lineFor(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestUnquoteJSON5(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:          "plain",
		`a\nb`:           "a\nb",
		`\x41\u0042`:     "AB",
		`\ud83d\ude00`:   "\U0001F600",
		`\'\"\\`:         `'"\`,
		"line\\\ncont":   "linecont",
		`\q`:             "q",
		`\u00`:           "u00",
		`tab\there\v\0`:  "tab\there\v\x00",
		`\b\f\r`:         "\b\f\r",
		"crlf\\\r\ncont": "crlfcont",
	} {
		if got := unquoteJSON5([]byte(in)); got != want {
			t.Errorf("unquoteJSON5(%q) = %q, want %q", in, got, want)
		}
	}
}
