package format

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkHTML returns why Telegram would reject html in HTML parse mode, or
// flatten it in a way this package promises it will not, or nil. It is
// stricter than Telegram: besides the tags, attributes and entities Telegram
// accepts, it requires what HTML promises on top (no empty elements, no tag
// nested in itself, no link or code inside a link, no pre inside a quote).
func checkHTML(html string) error {
	if !utf8.ValidString(html) {
		return fmt.Errorf("not UTF-8")
	}
	var stack []string
	lastOpen := -1 // offset just after the latest opening tag
	for i := 0; i < len(html); {
		switch html[i] {
		case '<':
			j := strings.IndexByte(html[i:], '>')
			if j < 0 {
				return fmt.Errorf("bare < at %d", i)
			}
			tag := html[i+1 : i+j]
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return fmt.Errorf("</%s> at %d closes %v", name, i, stack)
				}
				if lastOpen == i {
					return fmt.Errorf("empty <%s> at %d", name, i)
				}
				stack = stack[:len(stack)-1]
				i += j + 1
				continue
			}
			name, attrs, _ := strings.Cut(tag, " ")
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if err := checkTag(name, attrs, parent, stack); err != nil {
				return fmt.Errorf("<%s> at %d: %w", tag, i, err)
			}
			stack = append(stack, name)
			i += j + 1
			lastOpen = i
		case '&':
			n := entityLen(html[i:])
			if n == 0 {
				return fmt.Errorf("bare & at %d", i)
			}
			i += n
		case '>':
			return fmt.Errorf("bare > at %d", i)
		default:
			i++
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %v", stack)
	}
	return nil
}

// checkTag checks one opening tag against the tags open around it.
func checkTag(name, attrs, parent string, open []string) error {
	for _, o := range open {
		if o == name {
			return fmt.Errorf("nested in itself")
		}
	}
	if parent == "code" || (parent == "pre" && name != "code") {
		return fmt.Errorf("inside %s", parent)
	}
	switch name {
	case "b", "i", "u", "s", "tg-spoiler":
	case "blockquote", "pre":
		if len(open) > 0 {
			return fmt.Errorf("inside %v", open)
		}
	case "a":
		v, ok := strings.CutPrefix(attrs, `href="`)
		if v, ok = strings.CutSuffix(v, `"`); !ok || v == "" {
			return fmt.Errorf("bad attributes %q", attrs)
		}
		if strings.ContainsAny(v, `"<>`) {
			return fmt.Errorf("unescaped href %q", v)
		}
		for k := strings.IndexByte(v, '&'); k >= 0; k = strings.IndexByte(v, '&') {
			n := entityLen(v[k:])
			if n == 0 {
				return fmt.Errorf("bare & in href %q", v)
			}
			v = v[k+n:]
		}
		return nil
	case "code":
		if attrs == "" && parent != "a" {
			return nil
		}
		lang, ok := strings.CutPrefix(attrs, `class="language-`)
		if lang, ok = strings.CutSuffix(lang, `"`); !ok || parent != "pre" || lang == "" ||
			strings.IndexFunc(lang, func(r rune) bool {
				return !strings.ContainsRune("+#._-", r) && (r > unicode.MaxASCII || !unicode.IsLetter(r) && !unicode.IsDigit(r))
			}) >= 0 {
			return fmt.Errorf("bad code attributes %q inside %q", attrs, parent)
		}
		return nil
	default:
		return fmt.Errorf("tag Telegram does not know")
	}
	if attrs != "" {
		return fmt.Errorf("unexpected attributes %q", attrs)
	}
	return nil
}

// entityLen is the length of the entity at the start of s, if it is one
// Telegram accepts, or 0.
func entityLen(s string) int {
	for _, e := range []string{"&lt;", "&gt;", "&amp;", "&quot;"} {
		if strings.HasPrefix(s, e) {
			return len(e)
		}
	}
	if !strings.HasPrefix(s, "&#") {
		return 0
	}
	digits, hex := s[2:], false
	if strings.HasPrefix(digits, "x") || strings.HasPrefix(digits, "X") {
		digits, hex = digits[1:], true
	}
	n := 0
	for n < len(digits) && (digits[n] >= '0' && digits[n] <= '9' ||
		hex && strings.IndexByte("abcdefABCDEF", digits[n]) >= 0) {
		n++
	}
	if n == 0 || n == len(digits) || digits[n] != ';' {
		return 0
	}
	return len(s) - len(digits) + n + 1
}

// nonSpace is s without its whitespace.
func nonSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), "")
}

// isFenceLine reports whether line could be a fence Chunk added.
func isFenceLine(line string) bool {
	t := strings.TrimLeft(line, " \t")
	return strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")
}

// checkPieces checks Chunk's promises for markdown cut at limit: each piece
// fits, renders to valid HTML that fits, and together the pieces hold all
// the text of markdown and nothing else but whitespace and the fence lines
// added to close and reopen code blocks.
func checkPieces(markdown string, limit int, pieces []string) error {
	want := limit
	if want <= 0 {
		want = DefaultLimit
	}
	if strings.TrimSpace(markdown) == "" {
		if pieces != nil {
			return fmt.Errorf("pieces %q for blank input", pieces)
		}
		return nil
	}
	for k, p := range pieces {
		if n := UTF16Len(p); n > want && !(want == 1 && utf8.RuneCountInString(p) == 1) {
			return fmt.Errorf("piece %d is %d units long, limit %d: %q", k, n, want, p)
		}
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("piece %d is blank: %q", k, p)
		}
		h := HTML(p)
		if err := checkHTML(h); err != nil {
			return fmt.Errorf("piece %d: HTML(%q) = %q: %v", k, p, h, err)
		}
		if n := UTF16Len(Visible(h)); n > want && want > 1 {
			return fmt.Errorf("piece %d shows %d units, limit %d: %q", k, n, want, p)
		}
	}
	// Match the pieces against the input's text in order, each piece with
	// or without a leading and a trailing fence line. Every way that
	// matches is kept: a fence line may be the input's own or an added one.
	in := nonSpace(markdown)
	at := map[int]bool{0: true}
	for _, p := range pieces {
		lines := strings.Split(p, "\n")
		variants := []string{nonSpace(p)}
		if isFenceLine(lines[0]) {
			variants = append(variants, nonSpace(strings.Join(lines[1:], "\n")))
		}
		if len(lines) > 1 && isFenceLine(lines[len(lines)-1]) {
			variants = append(variants, nonSpace(strings.Join(lines[:len(lines)-1], "\n")))
			if isFenceLine(lines[0]) {
				variants = append(variants, nonSpace(strings.Join(lines[1:len(lines)-1], "\n")))
			}
		}
		next := map[int]bool{}
		for pos := range at {
			for _, v := range variants {
				if strings.HasPrefix(in[pos:], v) {
					next[pos+len(v)] = true
				}
			}
		}
		if len(next) == 0 {
			return fmt.Errorf("piece %q does not continue the text", p)
		}
		at = next
	}
	if !at[len(in)] {
		return fmt.Errorf("pieces %q lose text of %q", pieces, markdown)
	}
	return nil
}
