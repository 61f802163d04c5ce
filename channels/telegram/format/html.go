// Package format turns agent replies, written in the Markdown that language
// models produce, into messages for the Telegram Bot API: HTML renders them
// in Telegram's HTML parse mode and Chunk splits them to fit a message.
//
// Telegram rejects a whole message when its HTML does not parse, so HTML
// never fails: markup it cannot map is kept as literal text, and the output
// only ever holds tags Telegram knows, balanced and escaped. Telegram limits
// messages by the length of their visible text in UTF-16 code units, and
// rendering only ever removes or replaces Markdown syntax, so the rendered
// text is never longer than its source: Chunk budgets on the Markdown alone.
package format

import (
	"strings"
)

// HTML renders Markdown to Telegram's HTML parse mode. The output only uses
// the tags Telegram accepts (b, i, u, s, code, pre, a href, blockquote,
// tg-spoiler), always properly nested and closed, with &, <, > (and " inside
// attributes) escaped, so Telegram never rejects it.
//
// The visible text (see Visible) is never longer, in UTF-16 code units, than
// markdown itself. HTML returns "" when nothing but whitespace would show
// (say, for an empty code block); Telegram refuses such messages, so callers
// skip them.
func HTML(markdown string) string {
	// Telegram refuses text that is not UTF-8. Each invalid run becomes one
	// U+FFFD, which is never longer than the bytes it replaces.
	src := strings.ToValidUTF8(markdown, "\uFFFD")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	var r renderer
	r.blocks(strings.Split(src, "\n"), false)
	out := string(r.w.buf)
	if strings.TrimSpace(Visible(out)) == "" {
		return ""
	}
	return out
}

// renderer writes blocks and inline text into one writer, so the tags
// opened by a block (a heading's b, a quote's blockquote) are known to the
// inline text inside it.
type renderer struct {
	w writer
}

// blocks renders lines as a sequence of blocks. Blocks keep the line breaks
// between them, with runs of blank lines collapsed to one, since Telegram
// shows every newline and models use them deliberately. quoted is set inside
// a block quote, where Telegram cannot nest another quote or a pre block.
func (r *renderer) blocks(lines []string, quoted bool) {
	started, blank := false, false
	for i := 0; i < len(lines); {
		if isBlank(lines[i]) {
			blank = true
			i++
			continue
		}
		mark := len(r.w.buf)
		if started {
			if blank {
				r.w.text("\n\n")
			} else {
				r.w.text("\n")
			}
		}
		body := len(r.w.buf)
		i = r.block(lines, i, quoted)
		if len(r.w.buf) == body {
			// Nothing visible (an empty code block, a bare "#"): drop the
			// separator too, so no empty lines pile up.
			r.w.buf = r.w.buf[:mark]
			continue
		}
		started, blank = true, false
	}
}

// block renders the block starting at lines[i] and returns the index of the
// line after it.
func (r *renderer) block(lines []string, i int, quoted bool) int {
	line := lines[i]
	if f, ok := openFence(line); ok {
		var code []string
		j := i + 1
		for ; j < len(lines); j++ {
			if f.closedBy(lines[j]) {
				j++
				break
			}
			code = append(code, dedent(lines[j], f.indent))
		}
		r.code(f.lang, strings.Join(code, "\n"), quoted)
		return j
	}
	if !quoted && isQuote(line) {
		var inner []string
		j := i
		for ; j < len(lines) && isQuote(lines[j]); j++ {
			inner = append(inner, unquote(lines[j]))
		}
		r.w.open("blockquote", "")
		r.blocks(inner, true)
		r.w.close()
		return j
	}
	if text, ok := heading(line); ok {
		// Telegram has no headings; a bold line is what reads as one.
		r.w.open("b", "")
		r.inline(text, false)
		r.w.close()
		return i + 1
	}
	if isRule(line) {
		// Three em dashes: never longer than the three or more characters
		// of the rule they replace.
		r.w.text("———")
		return i + 1
	}
	if indent, bullet, rest, ok := bulletItem(line); ok {
		r.w.text(indent + bullet)
		r.inline(rest, false)
		return i + 1
	}
	if isOrdered(line) {
		// The number stays as written; it holds no Markdown syntax.
		r.inline(line, false)
		return i + 1
	}
	j := i + 1
	for j < len(lines) && !isBlank(lines[j]) && !startsBlock(lines[j], quoted) {
		j++
	}
	// A paragraph is rendered whole, so emphasis may span its lines.
	r.inline(strings.Join(lines[i:j], "\n"), false)
	return j
}

// code renders the content of a fenced block.
func (r *renderer) code(lang, text string, quoted bool) {
	if quoted {
		// Telegram cannot put a pre block inside a quote; plain text
		// keeps the content visible.
		r.w.text(text)
		return
	}
	r.w.open("pre", "")
	if lang = cleanLang(lang); lang != "" {
		r.w.open("code", ` class="language-`+lang+`"`)
		r.w.text(text)
		r.w.close()
	} else {
		r.w.text(text)
	}
	r.w.close()
}

// cleanLang keeps the characters language names use (c++, c#,
// objective-c, ...), so the class attribute needs no escaping.
func cleanLang(lang string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("+#._-", r):
			return r
		}
		return -1
	}, lang)
}

// startsBlock reports whether line begins a block that ends a paragraph.
func startsBlock(line string, quoted bool) bool {
	if _, ok := openFence(line); ok {
		return true
	}
	if !quoted && isQuote(line) {
		return true
	}
	if _, ok := heading(line); ok {
		return true
	}
	if isRule(line) || isOrdered(line) {
		return true
	}
	_, _, _, ok := bulletItem(line)
	return ok
}

func isBlank(line string) bool {
	return strings.TrimSpace(line) == ""
}

// dedent removes up to n leading blanks: the indentation of the fence, so
// code nested in a list item comes out flush left.
func dedent(line string, n int) string {
	i := 0
	for i < n && i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return line[i:]
}

func isQuote(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), ">")
}

// unquote strips every leading quote marker: Telegram cannot nest quotes,
// so ">> a" joins the quote around it. Indentation after the markers stays,
// so nested lists keep their shape.
func unquote(line string) string {
	s := line
	for {
		t := strings.TrimLeft(s, " \t")
		if t == "" || t[0] != '>' {
			return s
		}
		s = t[1:]
		if s != "" && s[0] == ' ' {
			s = s[1:]
		}
	}
}

// heading reports whether line is an ATX heading ("## Title ##") and
// returns its text. "#hashtag" is not a heading: the marks must be followed
// by a blank or the end of the line.
func heading(line string) (string, bool) {
	t := strings.TrimLeft(line, " \t")
	n := 0
	for n < len(t) && t[n] == '#' {
		n++
	}
	if n == 0 || n > 6 {
		return "", false
	}
	rest := t[n:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if k := strings.TrimRight(rest, "#"); k != rest {
		switch {
		case k == "":
			rest = ""
		case k[len(k)-1] == ' ' || k[len(k)-1] == '\t':
			rest = strings.TrimRight(k, " \t")
		}
	}
	return rest, true
}

// isRule reports whether line is a thematic break: three or more of one of
// -, * or _, blanks allowed between them.
func isRule(line string) bool {
	t := strings.TrimSpace(line)
	if len(t) < 3 || (t[0] != '-' && t[0] != '*' && t[0] != '_') {
		return false
	}
	n := 0
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case t[0]:
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 3
}

// bulletItem reports whether line is an unordered list item and returns its
// indentation, the bullet to show (two characters, like the "- " it
// replaces, or a box for a task item) and the item's text.
func bulletItem(line string) (indent, bullet, rest string, ok bool) {
	t := strings.TrimLeft(line, " \t")
	if len(t) < 2 || (t[0] != '-' && t[0] != '*' && t[0] != '+') || (t[1] != ' ' && t[1] != '\t') {
		return "", "", "", false
	}
	indent = line[:len(line)-len(t)]
	rest = strings.TrimLeft(t[2:], " \t")
	bullet = "• "
	if len(rest) >= 3 && rest[0] == '[' && rest[2] == ']' && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '\t') {
		switch rest[1] {
		case ' ':
			bullet = "☐ "
		case 'x', 'X':
			bullet = "☑ "
		}
		if bullet != "• " {
			rest = strings.TrimLeft(rest[3:], " \t")
		}
	}
	return indent, bullet, rest, true
}

// isOrdered reports whether line is an ordered list item ("1. " or "1) ").
func isOrdered(line string) bool {
	t := strings.TrimLeft(line, " \t")
	n := 0
	for n < len(t) && n < 10 && t[n] >= '0' && t[n] <= '9' {
		n++
	}
	if n == 0 || n > 9 || n+1 >= len(t) || (t[n] != '.' && t[n] != ')') {
		return false
	}
	return t[n+1] == ' ' || t[n+1] == '\t'
}

// writer accumulates HTML. It owns every tag, so the output is balanced by
// construction: open and close pair up like a stack, and close drops an
// element that ended up empty (Telegram has no use for one).
type writer struct {
	buf   []byte
	stack []frame
	depth map[string]int // written frames on the stack, by tag
}

type frame struct {
	tag     string
	start   int  // offset of the opening tag
	content int  // offset just after it
	written bool // false when the tag was already open and so not repeated
}

// open starts an element. A tag already open is not opened again (bold
// inside a bold heading, say): Telegram gains nothing from the nesting, and
// the matching close then writes nothing either.
func (w *writer) open(tag, attrs string) {
	if w.depth[tag] > 0 {
		w.stack = append(w.stack, frame{tag: tag})
		return
	}
	if w.depth == nil {
		w.depth = make(map[string]int)
	}
	w.depth[tag]++
	start := len(w.buf)
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, tag...)
	w.buf = append(w.buf, attrs...)
	w.buf = append(w.buf, '>')
	w.stack = append(w.stack, frame{tag: tag, start: start, content: len(w.buf), written: true})
}

// close ends the innermost open element.
func (w *writer) close() {
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if f.written {
		w.depth[f.tag]--
	}
	switch {
	case !f.written:
	case len(w.buf) == f.content:
		w.buf = w.buf[:f.start]
	default:
		w.buf = append(w.buf, "</"...)
		w.buf = append(w.buf, f.tag...)
		w.buf = append(w.buf, '>')
	}
}

// text writes s escaped. Telegram requires &, < and > to be entities
// everywhere outside tags.
func (w *writer) text(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			w.buf = append(w.buf, "&amp;"...)
		case '<':
			w.buf = append(w.buf, "&lt;"...)
		case '>':
			w.buf = append(w.buf, "&gt;"...)
		default:
			w.buf = append(w.buf, c)
		}
	}
}

// attrEscaper escapes a double-quoted attribute value.
var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
