package format

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultLimit is Telegram's limit on a message's text, in UTF-16 code
// units, which Chunk uses when given no limit.
const DefaultLimit = 4096

// Cut qualities, best first. Chunk takes the best cut that fits and, among
// equals, the last, so pieces are as long as the best cut allows.
const (
	cutParagraph = 4 // at a blank line, or just before or after a code block
	cutLine      = 3
	cutSentence  = 2
	cutWord      = 1
	cutChar      = 0  // between two characters of a word
	cutCluster   = -1 // inside a grapheme cluster (an emoji sequence, a letter and its accent)
	cutFence     = -2 // inside a fence line, or so as to leave a code block empty: a last resort
	noCut        = -3
)

// Chunk splits Markdown into pieces whose length in UTF-16 code units
// (Telegram counts those) is at most limit, so that each rendered piece
// stays under Telegram's limit. It prefers to cut between paragraphs, then
// lines, then sentences, then words, and only then inside a word (never
// inside a UTF-16 surrogate pair or a UTF-8 sequence). A fenced code block
// that must be cut is closed at the end of one piece and reopened (same
// fence and language) at the start of the next, and the reopened piece
// still respects limit. limit <= 0 means 4096. Whitespace at cut points may
// be dropped; no other text is lost or duplicated.
//
// Markdown that fits is returned whole and unchanged; blank Markdown gives
// no pieces, and every piece has some text. A piece that starts a line
// keeps its indentation (a nested list item, a line of code). Only code
// blocks are carried across a cut: emphasis or a link cut in two shows its
// markers as literal text in both pieces. When limit leaves no room for the
// fence lines, the reopened fence goes without its language, and failing
// that the block is cut without fences, the part after the cut showing as
// plain text. A limit of 1 cannot hold a character outside the Basic
// Multilingual Plane: such a character becomes a piece of its own, the only
// case where a piece exceeds limit.
func Chunk(markdown string, limit int) []string {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if strings.TrimSpace(markdown) == "" {
		return nil
	}
	if UTF16Len(markdown) <= limit {
		return []string{markdown}
	}
	c := chunker{doc: markdown, limit: limit, spans: scanFences(markdown)}
	return c.split()
}

// UTF16Len is the length of s in UTF-16 code units. Bytes that are not
// valid UTF-8 count as one unit each, like the U+FFFD that replaces them.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r)
	}
	return n
}

func runeUnits(r rune) int {
	if r >= 0x10000 {
		return 2 // a surrogate pair
	}
	return 1
}

type chunker struct {
	doc   string
	limit int
	spans []span // top-level fenced code blocks, in order
}

func (c *chunker) split() []string {
	var pieces []string
	for p := 0; ; {
		if c.inCode(p) == nil {
			p = skipBlankLines(c.doc, p)
		}
		if isBlankFrom(c.doc, p) {
			return pieces
		}
		piece, next := c.cut(p)
		pieces = append(pieces, piece)
		p = next
	}
}

// Ways to carry a code block across a cut, tried in order until one leaves
// room for text.
const (
	fenceFull   = iota // reopen with the original fence line, language included
	fenceMarker        // reopen with the fence alone
	fenceNone          // neither close nor reopen
)

// cut returns the piece starting at p and the offset where the next begins.
func (c *chunker) cut(p int) (string, int) {
	sp := c.inCode(p)
	for mode := fenceFull; mode <= fenceNone; mode++ {
		prefix := ""
		if sp != nil {
			switch mode {
			case fenceFull:
				prefix = sp.line + "\n"
			case fenceMarker:
				prefix = sp.markerLine() + "\n"
			}
		} else if mode == fenceMarker {
			continue // the same as fenceFull
		}
		budget := c.limit - UTF16Len(prefix)
		if budget <= 0 {
			continue
		}
		if fits(c.doc[p:], budget) {
			return prefix + c.doc[p:], len(c.doc)
		}
		if a, b, ok := c.best(p, budget, mode != fenceNone); ok {
			piece := prefix + c.doc[p:a]
			if mode != fenceNone {
				if end := c.inCode(a); end != nil {
					if !strings.HasSuffix(piece, "\n") {
						piece += "\n"
					}
					piece += end.markerLine()
				}
			}
			return piece, b
		}
	}
	// Nothing with text fits: the blanks at p fill the limit (deep
	// indentation, or a reopening fence before it), or limit is 1 and the
	// next character a surrogate pair.
	if r, _ := utf8.DecodeRuneInString(c.doc[p:]); unicode.IsSpace(r) {
		q := p
		for q < len(c.doc) {
			r, size := utf8.DecodeRuneInString(c.doc[q:])
			if !unicode.IsSpace(r) {
				break
			}
			q += size
		}
		return c.cut(q)
	}
	_, size := utf8.DecodeRuneInString(c.doc[p:])
	return c.doc[p : p+size], p + size
}

// best finds the best cut of the text from p that fits in budget units. The
// piece is doc[p:a] and the next one starts at b, after the whitespace the
// cut drops. With fenced set, a piece ending inside a code block also pays
// for the fence line that closes it.
func (c *chunker) best(p, budget int, fenced bool) (a, b int, ok bool) {
	bestRank := noCut
	units := 0    // of doc[p:i]
	text := false // whether doc[p:i] has more than whitespace
	for i := p; i < len(c.doc); {
		r, size := utf8.DecodeRuneInString(c.doc[i:])
		if text {
			cost := units
			if sp := c.inCode(i); fenced && sp != nil {
				cost += UTF16Len(sp.markerLine())
				if c.doc[i-1] != '\n' {
					cost++
				}
			}
			if cost <= budget {
				if rank, next := c.rank(i); rank >= bestRank {
					bestRank, a, b = rank, i, next
				}
			}
		}
		units += runeUnits(r)
		text = text || !unicode.IsSpace(r)
		if units > budget {
			break
		}
		i += size
	}
	return a, b, bestRank > noCut
}

// inCode returns the code block whose content holds offset i (from its first
// content line to the end of its closing line), or nil: a piece that ends
// there must close the block, and one that starts there must reopen it.
func (c *chunker) inCode(i int) *span {
	k := sort.Search(len(c.spans), func(k int) bool { return c.spans[k].closeEnd > i })
	if k < len(c.spans) && c.spans[k].content <= i {
		return &c.spans[k]
	}
	return nil
}

// inFence returns the code block i lies in, from just inside its opening
// line to the end of its closing line, or nil.
func (c *chunker) inFence(i int) *span {
	k := sort.Search(len(c.spans), func(k int) bool { return c.spans[k].closeEnd > i })
	if k < len(c.spans) && c.spans[k].open < i {
		return &c.spans[k]
	}
	return nil
}

// rank rates a cut at i, 0 < i < len(doc), and returns where the next piece
// would start.
func (c *chunker) rank(i int) (int, int) {
	doc := c.doc
	before, _ := utf8.DecodeLastRuneInString(doc[:i])
	after, _ := utf8.DecodeRuneInString(doc[i:])
	charRank := cutChar
	if splitsCluster(before, after) || isRegional(before) && isRegional(after) && splitsFlag(doc[:i]) {
		charRank = cutCluster
	}
	if sp := c.inFence(i); sp != nil {
		// Leaving a piece with only the opening line, or the next with
		// only the closing one, would make an empty block of each.
		if i <= sp.content || i >= sp.closeStart-1 {
			return cutFence, i
		}
		switch {
		case after == '\n' && before == '\n':
			return cutParagraph, i + 1
		case after == '\n':
			return cutLine, i + 1
		case (after == ' ' || after == '\t') && !unicode.IsSpace(before):
			// Drop the blanks between two words, but never indentation:
			// a cut is never made before the first word of a line.
			end := i
			for end < len(doc) && (doc[end] == ' ' || doc[end] == '\t') {
				end++
			}
			return cutWord, end
		}
		return charRank, i
	}
	if unicode.IsSpace(after) && !unicode.IsSpace(before) {
		end, lines, lastNL := i, 0, -1
		for end < len(doc) {
			r, size := utf8.DecodeRuneInString(doc[end:])
			if !unicode.IsSpace(r) {
				break
			}
			if r == '\n' {
				lines++
				lastNL = end
			}
			end += size
		}
		switch {
		case lines >= 2:
			return cutParagraph, lastNL + 1
		case lines == 1:
			// Next to a code block is as good as a blank line.
			if c.opensAt(lastNL+1) || c.closesAt(i) {
				return cutParagraph, lastNL + 1
			}
			return cutLine, lastNL + 1
		case endsSentence(doc[:i]):
			return cutSentence, end
		}
		return cutWord, end
	}
	switch {
	case strings.ContainsRune("。！？", before):
		return cutSentence, i
	case strings.ContainsRune("，、；：", before):
		return cutWord, i
	}
	return charRank, i
}

// opensAt reports whether a code block's opening line starts at i.
func (c *chunker) opensAt(i int) bool {
	k := sort.Search(len(c.spans), func(k int) bool { return c.spans[k].open >= i })
	return k < len(c.spans) && c.spans[k].open == i
}

// closesAt reports whether a code block's closing line ends at i.
func (c *chunker) closesAt(i int) bool {
	k := sort.Search(len(c.spans), func(k int) bool { return c.spans[k].closeEnd >= i })
	return k < len(c.spans) && c.spans[k].closeEnd == i && c.spans[k].closeStart < i
}

// endsSentence reports whether s ends with sentence punctuation, possibly
// followed by closing quotes, brackets or emphasis marks.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, `"')]}*_~|”’»`+"`")
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == '.' || r == '!' || r == '?' || r == '…'
}

// splitsCluster reports whether a cut between before and after would split
// what readers see as one character: an emoji sequence, a letter and its
// combining mark, a CR LF pair. Flags need more context; see splitsFlag.
func splitsCluster(before, after rune) bool {
	switch {
	case before == 0x200D || after == 0x200D: // zero-width joiner
		return true
	case after >= 0xFE00 && after <= 0xFE0F, after >= 0xE0100 && after <= 0xE01EF: // variation selectors
		return true
	case after >= 0x1F3FB && after <= 0x1F3FF: // skin tones
		return true
	case after >= 0xE0020 && after <= 0xE007F: // tag sequences
		return true
	case after == 0x20E3: // keycap
		return true
	case before == '\r' && after == '\n':
		return true
	}
	return unicode.In(after, unicode.Mn, unicode.Me, unicode.Mc)
}

// splitsFlag reports whether s ends inside a flag: after an odd number of
// regional indicators, which pair up into flags from the left. It counts
// back at most maxFlags flags, so a long run of flags costs linear time to
// cut; past that the guess may be wrong, and the cut still valid.
func splitsFlag(s string) bool {
	const maxFlags = 32
	n := 0
	for s != "" && n < 2*maxFlags {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n%2 == 1
}

func isRegional(r rune) bool {
	return r >= 0x1F1E6 && r <= 0x1F1FF
}

// fits reports whether UTF16Len(s) <= budget, reading no more of s than
// it needs to.
func fits(s string, budget int) bool {
	n := 0
	for _, r := range s {
		if n += runeUnits(r); n > budget {
			return false
		}
	}
	return true
}

// isBlankFrom reports whether doc has only whitespace from p on.
func isBlankFrom(doc string, p int) bool {
	return strings.IndexFunc(doc[p:], func(r rune) bool { return !unicode.IsSpace(r) }) < 0
}

// skipBlankLines skips the blank lines at p, keeping the indentation of the
// first line with text (it may be a nested list item).
func skipBlankLines(doc string, p int) int {
	next := p
	for i := p; i < len(doc); {
		r, size := utf8.DecodeRuneInString(doc[i:])
		if r == '\n' {
			next = i + 1
		} else if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return next
}
