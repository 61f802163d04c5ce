package format

import "strings"

// fence describes the opening line of a fenced code block.
type fence struct {
	indent int    // bytes of leading blanks before the marker; content lines lose up to that many
	marker string // the run of ` or ~ that opened the block; a closing line needs at least as many
	lang   string // first word of the info string, as written
	line   string // the opening line without trailing blanks, reused to reopen a cut block
}

// openFence reports whether line opens a fenced code block. Unlike
// CommonMark it accepts any indentation: models nest fences inside list
// items with four or more spaces and mean them as code, and this renderer
// has no indented code blocks that would claim those lines instead.
func openFence(line string) (fence, bool) {
	rest := strings.TrimLeft(line, " \t")
	if len(rest) < 3 || (rest[0] != '`' && rest[0] != '~') {
		return fence{}, false
	}
	n := 0
	for n < len(rest) && rest[n] == rest[0] {
		n++
	}
	if n < 3 {
		return fence{}, false
	}
	info := strings.TrimSpace(rest[n:])
	// A backtick in the info string means the line is inline code such as
	// ```x```, not a fence (CommonMark's rule).
	if rest[0] == '`' && strings.IndexByte(info, '`') >= 0 {
		return fence{}, false
	}
	lang, _, _ := strings.Cut(info, " ")
	lang, _, _ = strings.Cut(lang, "\t")
	return fence{
		indent: len(line) - len(rest),
		marker: rest[:n],
		lang:   lang,
		line:   strings.TrimRight(line, " \t\r"),
	}, true
}

// closedBy reports whether line closes the block f opened: the same marker
// character, at least as many of them, and nothing else but blanks.
func (f fence) closedBy(line string) bool {
	t := strings.Trim(line, " \t\r")
	if len(t) < len(f.marker) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != f.marker[0] {
			return false
		}
	}
	return true
}

// markerLine is the fence alone, at the original indentation: the line
// Chunk appends to close a block it cuts, and the opening line it falls back
// to when the full one (with the language) leaves no room under the limit.
func (f fence) markerLine() string {
	return f.line[:f.indent] + f.marker
}

// span locates one top-level fenced code block in a document by byte
// offsets. HTML and Chunk find blocks the same way (line by line, outside
// block quotes, where the quote markers keep a line from opening a fence),
// so a block Chunk reopens is the block HTML renders.
type span struct {
	fence
	open       int // start of the opening line
	content    int // start of the first content line
	closeStart int // start of the closing line; len(doc) if the block is never closed
	closeEnd   int // end of the closing line, before its newline; len(doc) if never closed
}

// scanFences lists the top-level fenced code blocks of doc in order.
func scanFences(doc string) []span {
	var spans []span
	var cur *span
	for start := 0; start < len(doc); {
		end := strings.IndexByte(doc[start:], '\n')
		next := len(doc)
		if end < 0 {
			end = len(doc)
		} else {
			end += start
			next = end + 1
		}
		line := doc[start:end]
		switch {
		case cur != nil:
			if cur.closedBy(line) {
				cur.closeStart, cur.closeEnd = start, end
				spans = append(spans, *cur)
				cur = nil
			}
		default:
			if f, ok := openFence(line); ok {
				cur = &span{fence: f, open: start, content: next}
			}
		}
		start = next
	}
	if cur != nil {
		cur.closeStart, cur.closeEnd = len(doc), len(doc)
		spans = append(spans, *cur)
	}
	return spans
}
