package format

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Visible is the text Telegram shows for an HTML-mode message (tags
// removed, entities decoded); used to check lengths and in tests.
func Visible(html string) string {
	var b strings.Builder
	for i := 0; i < len(html); {
		switch html[i] {
		case '<':
			if j := strings.IndexByte(html[i:], '>'); j >= 0 {
				i += j + 1
				continue
			}
		case '&':
			if r, n := entity(html[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(html[i])
		i++
	}
	return b.String()
}

// entity decodes the entity at the start of s, one of those Telegram
// understands: &lt; &gt; &amp; &quot; and numeric ones. It returns the
// character and the entity's length, or 0 when there is none.
func entity(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 10 {
		return 0, 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0
	}
	digits, base := name[1:], 10
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || digits == "" || digits[0] == '+' || !utf8.ValidRune(rune(v)) {
		return 0, 0
	}
	return rune(v), end + 1
}
