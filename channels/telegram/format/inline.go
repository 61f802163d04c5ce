package format

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on the parts of a link, so that text full of [, ]( or ( that
// never close takes linear time to render rather than quadratic. Links
// that models write are far shorter.
const (
	maxLinkText = 1000 // bytes from [ to ]
	maxLinkDest = 4096 // bytes of destination and title
)

type nodeKind uint8

const (
	textNode  nodeKind = iota
	codeNode           // inline code; text is the content
	linkNode           // text is the link text (Markdown), href the destination
	delimNode          // a run of *, _, ~ or | that may become formatting
)

// node is one piece of a paragraph after tokenizing: literal text, inline
// code, a link, or a delimiter run that emphasis matching may turn into tags.
type node struct {
	kind nodeKind
	text []byte
	href string // link: destination, "" when its scheme is not allowed

	// Delimiter runs, as in CommonMark's emphasis algorithm.
	ch                byte
	n, orig           int // characters left unmatched, and the run's length
	canOpen, canClose bool
	opens             []string // tags this run opens, innermost first
	closes            []string // tags this run closes, innermost first
	prev, next        int      // neighbours in the delimiter list, -1 at its ends
}

// inlineParser tokenizes one paragraph (or heading, list item, link text).
type inlineParser struct {
	src    string
	inLink bool // parsing link text: no links inside it
	nodes  []node
	// noCloserFrom[n] is an offset from which no run of exactly n backticks
	// follows, so unmatched backticks are not searched for again and again.
	noCloserFrom map[int]int
}

// inline renders s, a run of inline Markdown. inLink is set for the text of
// a link, where Telegram allows no inline code and no other link.
func (r *renderer) inline(s string, inLink bool) {
	p := inlineParser{src: s, inLink: inLink}
	p.tokenize()
	p.emphasis()
	for i := range p.nodes {
		n := &p.nodes[i]
		switch n.kind {
		case textNode:
			r.w.text(string(n.text))
		case codeNode:
			if inLink {
				r.w.text(string(n.text))
				continue
			}
			r.w.open("code", "")
			r.w.text(string(n.text))
			r.w.close()
		case linkNode:
			if n.href == "" {
				// Telegram would refuse or mangle other schemes
				// (javascript:, relative paths); the text still reads.
				r.inline(string(n.text), inLink)
				continue
			}
			mark := len(r.w.buf)
			r.w.open("a", ` href="`+attrEscaper.Replace(strings.ReplaceAll(n.href, " ", "%20"))+`"`)
			r.inline(string(n.text), true)
			r.w.close()
			if len(r.w.buf) == mark {
				// [](url): show the address rather than nothing.
				r.w.text(n.href)
			}
		case delimNode:
			for range n.closes {
				r.w.close()
			}
			r.w.text(strings.Repeat(string(n.ch), n.n))
			for k := len(n.opens) - 1; k >= 0; k-- {
				r.w.open(n.opens[k], "")
			}
		}
	}
}

// addText appends literal text, merging it into the previous text node.
func (p *inlineParser) addText(s string) {
	if k := len(p.nodes) - 1; k >= 0 && p.nodes[k].kind == textNode {
		p.nodes[k].text = append(p.nodes[k].text, s...)
		return
	}
	p.nodes = append(p.nodes, node{kind: textNode, text: []byte(s)})
}

// special reports whether c may start inline syntax.
func special(c byte) bool {
	switch c {
	case '\\', '`', '[', '<', '*', '_', '~', '|', 'h', 'H':
		return true
	}
	return false
}

func (p *inlineParser) tokenize() {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && isASCIIPunct(s[i+1]) {
				p.addText(s[i+1 : i+2])
				i += 2
				continue
			}
			if i+1 < len(s) && s[i+1] == '\n' {
				// A backslash before a newline is a hard line
				// break; Telegram breaks at every newline anyway.
				p.addText("\n")
				i += 2
				continue
			}
			p.addText(`\`)
			i++
		case '`':
			n := runLen(s, i)
			if end, ok := p.codeSpan(i, n); ok {
				content := s[i+n : end-n]
				if len(content) >= 2 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.Trim(content, " ") != "" {
					content = content[1 : len(content)-1]
				}
				p.nodes = append(p.nodes, node{kind: codeNode, text: []byte(content)})
				i = end
				continue
			}
			p.addText(s[i : i+n])
			i += n
		case '[':
			if !p.inLink {
				if end, ok := p.link(i); ok {
					i = end
					continue
				}
			}
			p.addText("[")
			i++
		case '<':
			if end := autolink(s, i); end > i {
				// <https://...>: the address as text, which
				// Telegram links by itself.
				p.addText(s[i+1 : end-1])
				i = end
				continue
			}
			p.addText("<")
			i++
		case '*', '_', '~', '|':
			n := runLen(s, i)
			if (c == '~' || c == '|') && n != 2 {
				// Only ~~ and || mark anything: a lone ~ is
				// "about", a lone | a table cell or a pipe.
				p.addText(s[i : i+n])
				i += n
				continue
			}
			p.addDelim(i, n)
			i += n
		case 'h', 'H':
			if end := bareURL(s, i); end > i {
				// Bare addresses stay as they are: the _ and *
				// in them are not emphasis.
				p.addText(s[i:end])
				i = end
				continue
			}
			p.addText(s[i : i+1])
			i++
		default:
			j := i + 1
			for j < len(s) && !special(s[j]) {
				j++
			}
			p.addText(s[i:j])
			i = j
		}
	}
}

// runLen is the length of the run of s[i] starting at i.
func runLen(s string, i int) int {
	j := i
	for j < len(s) && s[j] == s[i] {
		j++
	}
	return j - i
}

// codeSpan finds the end of the code span whose opening run of n backticks
// starts at i: just past the next run of exactly n backticks.
func (p *inlineParser) codeSpan(i, n int) (int, bool) {
	s := p.src
	if from, ok := p.noCloserFrom[n]; ok && i >= from {
		return 0, false
	}
	for j := i + n; j < len(s); {
		k := strings.IndexByte(s[j:], '`')
		if k < 0 {
			break
		}
		j += k
		m := runLen(s, j)
		if m == n {
			return j + m, true
		}
		j += m
	}
	if p.noCloserFrom == nil {
		p.noCloserFrom = make(map[int]int)
	}
	p.noCloserFrom[n] = i
	return 0, false
}

// link parses [text](destination "title") at i and appends a link node. It
// returns the offset past the closing parenthesis.
func (p *inlineParser) link(i int) (int, bool) {
	s := p.src
	depth, j := 0, i
	limit := min(len(s), i+maxLinkText)
	found := false
scan:
	for j < limit {
		switch s[j] {
		case '\\':
			j += 2
			continue
		case '`':
			n := runLen(s, j)
			if end, ok := p.codeSpan(j, n); ok {
				j = end
			} else {
				j += n
			}
			continue
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				found = true
				break scan
			}
		}
		j++
	}
	if !found || j+1 >= len(s) || s[j+1] != '(' {
		return 0, false
	}
	text := s[i+1 : j]
	k := skipBlanks(s, j+2)
	s = s[:min(len(s), k+maxLinkDest)]
	var dest string
	if k < len(s) && s[k] == '<' {
		e := strings.IndexAny(s[k+1:], "<>\n")
		if e < 0 || s[k+1+e] != '>' {
			return 0, false
		}
		dest = s[k+1 : k+1+e]
		k += e + 2
	} else {
		start, parens := k, 0
	dest:
		for k < len(s) {
			switch c := s[k]; {
			case c == '\\' && k+1 < len(s) && isASCIIPunct(s[k+1]):
				k += 2
				continue
			case c <= ' ':
				break dest
			case c == '(':
				parens++
			case c == ')':
				if parens == 0 {
					break dest
				}
				parens--
			}
			k++
		}
		dest = unescape(s[start:k])
	}
	k = skipBlanks(s, k)
	if k < len(s) && (s[k] == '"' || s[k] == '\'' || s[k] == '(') {
		closer := s[k]
		if closer == '(' {
			closer = ')'
		}
		e := strings.IndexByte(s[k+1:], closer)
		if e < 0 {
			return 0, false
		}
		k = skipBlanks(s, k+e+2)
	}
	if k >= len(s) || s[k] != ')' {
		return 0, false
	}
	n := node{kind: linkNode, text: []byte(text)}
	if allowedURL(dest) {
		n.href = dest
	}
	p.nodes = append(p.nodes, n)
	return k + 1, true
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

// unescape drops the backslash before escaped punctuation.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// allowedURL reports whether u may become a link: the schemes Telegram
// opens, and nothing it would refuse or that could surprise a reader.
func allowedURL(u string) bool {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || rest == "" {
		return false
	}
	for _, r := range u {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		return strings.HasPrefix(rest, "//") && len(rest) > 2
	case "mailto", "tg":
		return true
	}
	return false
}

// autolink returns the end of a CommonMark autolink (<scheme:...>) at i, or
// i when there is none.
func autolink(s string, i int) int {
	j := i + 1
	for j < len(s) && j-i <= 33 && (isAlnum(s[j]) || (j > i+1 && strings.IndexByte("+.-", s[j]) >= 0)) {
		j++
	}
	if j-(i+1) < 2 || j >= len(s) || s[j] != ':' {
		return i
	}
	for j++; j < len(s); j++ {
		switch c := s[j]; {
		case c == '>':
			return j + 1
		case c <= ' ' || c == '<':
			return i
		}
	}
	return i
}

// bareURL returns the end of a bare http(s) address starting at i, or i.
// Like GitHub's autolinks it leaves trailing punctuation (and emphasis
// marks, and unbalanced closing brackets) to the text around it.
func bareURL(s string, i int) int {
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); isWordRune(r) {
			return i
		}
	}
	rest := s[i:]
	var n int
	switch {
	case len(rest) >= 8 && strings.EqualFold(rest[:8], "https://"):
		n = 8
	case len(rest) >= 7 && strings.EqualFold(rest[:7], "http://"):
		n = 7
	default:
		return i
	}
	end := i + n
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || r == '<' || r == '>' || r == '`' {
			break
		}
		end += size
	}
	for end > i+n {
		c := s[end-1]
		switch {
		case strings.IndexByte("?!.,:;*_~'\"|", c) >= 0:
		case c == ')' && strings.Count(s[i:end], "(") < strings.Count(s[i:end], ")"):
		case c == ']' && strings.Count(s[i:end], "[") < strings.Count(s[i:end], "]"):
		default:
			return end
		}
		end--
	}
	return end
}

// addDelim appends the delimiter run of n characters at i, classified by
// the characters on either side as CommonMark does: a run can open when it
// leans on the text after it and close when it leans on the text before.
func (p *inlineParser) addDelim(i, n int) {
	s := p.src
	before, after := ' ', ' '
	if i > 0 {
		before, _ = utf8.DecodeLastRuneInString(s[:i])
	}
	if i+n < len(s) {
		after, _ = utf8.DecodeRuneInString(s[i+n:])
	}
	if s[i] == '_' && (after == '.' || after == '-') && i+n+1 < len(s) {
		// A file or flag name goes on after the run (__init__.py,
		// _config_-v2): read it as a word, as CommonMark would not, so the
		// run stays literal like the underscores of snake_case.
		if r, _ := utf8.DecodeRuneInString(s[i+n+1:]); isWordRune(r) {
			after = r
		}
	}
	left := !unicode.IsSpace(after) && (!isPunct(after) || unicode.IsSpace(before) || isPunct(before))
	right := !unicode.IsSpace(before) && (!isPunct(before) || unicode.IsSpace(after) || isPunct(after))
	d := node{kind: delimNode, ch: s[i], n: n, orig: n, canOpen: left, canClose: right}
	if s[i] == '_' {
		// Intra-word underscores (snake_case_name) are never emphasis.
		d.canOpen = left && (!right || isPunct(before))
		d.canClose = right && (!left || isPunct(after))
	}
	p.nodes = append(p.nodes, d)
}

// emphasis matches delimiter runs into tags: CommonMark's "process
// emphasis" procedure, with ~~ for strikethrough and || for spoilers added.
// Every match closes the runs between it, so matches nest properly and the
// tags written from them do too.
func (p *inlineParser) emphasis() {
	first, last := -1, -1
	for i := range p.nodes {
		if p.nodes[i].kind != delimNode {
			continue
		}
		p.nodes[i].prev, p.nodes[i].next = last, -1
		if last >= 0 {
			p.nodes[last].next = i
		} else {
			first = i
		}
		last = i
	}
	remove := func(i int) {
		d := &p.nodes[i]
		if d.prev >= 0 {
			p.nodes[d.prev].next = d.next
		} else {
			first = d.next
		}
		if d.next >= 0 {
			p.nodes[d.next].prev = d.prev
		}
	}
	// bottom bounds the search for openers by the kind of closer, so a
	// closer never rescans openers an earlier closer of its kind gave up on.
	type kind struct {
		ch      byte
		canOpen bool
		mod3    int
	}
	bottom := map[kind]int{}
	for c := first; c >= 0; {
		closer := &p.nodes[c]
		if !closer.canClose {
			c = closer.next
			continue
		}
		k := kind{closer.ch, closer.canOpen, closer.orig % 3}
		floor, ok := bottom[k]
		if !ok {
			floor = -1
		}
		o := closer.prev
		for ; o >= 0 && o != floor; o = p.nodes[o].prev {
			if p.matches(&p.nodes[o], closer) {
				break
			}
		}
		if o < 0 || o == floor {
			bottom[k] = closer.prev
			next := closer.next
			if !closer.canOpen {
				remove(c)
			}
			c = next
			continue
		}
		opener := &p.nodes[o]
		use, tag := 2, ""
		switch closer.ch {
		case '~':
			tag = "s"
		case '|':
			tag = "tg-spoiler"
		default:
			if opener.n < 2 || closer.n < 2 {
				use = 1
			}
			tag = "b"
			if use == 1 {
				tag = "i"
			}
		}
		opener.n -= use
		closer.n -= use
		opener.opens = append(opener.opens, tag)
		closer.closes = append(closer.closes, tag)
		for m := opener.next; m != c; m = p.nodes[m].next {
			remove(m)
		}
		if opener.n == 0 {
			remove(o)
		}
		if closer.n == 0 {
			next := closer.next
			remove(c)
			c = next
		}
	}
}

// matches reports whether opener can pair with closer.
func (p *inlineParser) matches(opener, closer *node) bool {
	if opener.ch != closer.ch || !opener.canOpen || opener.n == 0 {
		return false
	}
	if closer.ch == '~' || closer.ch == '|' {
		return opener.n == 2 && closer.n == 2
	}
	// CommonMark's rule of three: when either run could both open and
	// close, lengths summing to a multiple of 3 do not pair unless both are
	// multiples of 3, so that "*a**b*" reads as intended.
	if (opener.canClose || closer.canOpen) && (opener.orig+closer.orig)%3 == 0 &&
		(opener.orig%3 != 0 || closer.orig%3 != 0) {
		return false
	}
	return true
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}

// isPunct is CommonMark's Unicode punctuation: P and S categories.
func isPunct(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
