package format

import (
	"strings"
	"testing"
)

// FuzzFormat feeds arbitrary text to HTML and Chunk. Agent replies are
// arbitrary text, and Telegram rejects a whole message over one bad tag or
// one character too many, so whatever the input: HTML is valid and never
// longer to read than its source, and Chunk's pieces fit, render validly,
// and keep every character of the input.
//
// Run with: go test -run='^$' -fuzz=FuzzFormat -fuzztime=60s ./channels/telegram/format/
// The seed corpus is in testdata/fuzz/FuzzFormat; the f.Add seeds below are
// the table inputs of the other tests.
func FuzzFormat(f *testing.F) {
	for _, tt := range htmlTests {
		f.Add(tt.in, uint16(40))
	}
	for _, tt := range chunkTests {
		f.Add(tt.in, uint16(tt.limit))
	}
	f.Fuzz(func(t *testing.T, markdown string, limit uint16) {
		h := HTML(markdown)
		if err := checkHTML(h); err != nil {
			t.Fatalf("HTML(%q) = %q: %v", markdown, h, err)
		}
		if got, max := UTF16Len(Visible(h)), UTF16Len(markdown); got > max {
			t.Fatalf("HTML(%q) = %q shows %d units, more than the %d of its source", markdown, h, got, max)
		}
		if h != "" && strings.TrimSpace(Visible(h)) == "" {
			t.Fatalf("HTML(%q) = %q: Telegram refuses a message with nothing to show", markdown, h)
		}
		// Limits up to a few hundred make many cuts in short inputs; 0
		// stands for the default. A limit of 1 cannot hold an emoji, so
		// Chunk's promise starts at 2.
		l := int(limit % 512)
		if l == 1 {
			l = 2
		}
		pieces := Chunk(markdown, l)
		if err := checkPieces(markdown, l, pieces); err != nil {
			t.Fatalf("Chunk(%q, %d): %v", markdown, l, err)
		}
	})
}
