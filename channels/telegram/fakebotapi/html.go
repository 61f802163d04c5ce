package fakebotapi

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// entity is a MessageEntity as the Bot API encodes it. Offsets and lengths
// count UTF-16 code units.
type entity struct {
	Type          string    `json:"type"`
	Offset        int       `json:"offset"`
	Length        int       `json:"length"`
	URL           string    `json:"url,omitempty"`
	User          *userJSON `json:"user,omitempty"`
	Language      string    `json:"language,omitempty"`
	CustomEmojiID string    `json:"custom_emoji_id,omitempty"`
}

// sortEntities orders entities as Telegram returns them: by offset, and an
// enclosing entity before the ones it contains.
func sortEntities(ents []entity) {
	sort.SliceStable(ents, func(i, j int) bool {
		if ents[i].Offset != ents[j].Offset {
			return ents[i].Offset < ents[j].Offset
		}
		return ents[i].Length > ents[j].Length
	})
}

// htmlTags are the tags Telegram's HTML parse mode knows.
var htmlTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true,
	"u": true, "ins": true, "s": true, "strike": true, "del": true,
	"span": true, "tg-spoiler": true, "code": true, "pre": true,
	"blockquote": true, "tg-emoji": true,
}

// parseHTML turns text in Telegram's HTML parse mode into the plain text
// users see and its entities, or fails with the description Telegram gives
// after "can't parse entities: ".
//
// It follows the parser of TDLib, which the Bot API server runs, down to
// its quirks: tag names are case-insensitive but an end tag must repeat the
// start tag's spelling, "</>" closes whatever is open, attributes the tag
// does not use are ignored, and an element with no text yields no entity.
// It is stricter than TDLib in one respect: an "&" that does not start one
// of the entities Telegram documents (&lt; &gt; &amp; &quot; and numeric
// ones) is refused, where TDLib would keep it as a literal "&". A client
// that leaves "&" unescaped garbles any text that happens to contain
// "&lt", so the fake makes that mistake fail every time rather than
// sometimes.
func parseHTML(s string) (string, []entity, error) {
	type open struct {
		tag, arg   string
		offset     int // UTF-16 offset of the element's text
		begin      int // byte offset of that text in the output
		expandable bool
	}
	var (
		out   strings.Builder
		ents  []entity
		stack []open
		off   int // UTF-16 length of out
	)
	out.Grow(len(s))
	// at mirrors TDLib's NUL-terminated strings: reading past the end
	// yields 0, which isSpace counts as a separator.
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '&' {
			r, n, ok := decodeHTMLEntity(s, i)
			if !ok {
				return "", nil, fmt.Errorf(`Character "&" at byte offset %d must be escaped as "&amp;"`, i)
			}
			if 0xD800 <= r && r <= 0xDFFF {
				return "", nil, errors.New("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
			}
			out.WriteRune(r)
			off += utf16Len(string(r))
			i += n - 1
			continue
		}
		if c != '<' {
			// Count UTF-16 units on each rune's first byte; a four-byte
			// rune is a surrogate pair.
			if c < 0x80 || c >= 0xC0 {
				off++
				if c >= 0xF0 {
					off++
				}
			}
			out.WriteByte(c)
			continue
		}

		begin := i
		i++
		if at(i) != '/' {
			for !isSpace(at(i)) && at(i) != '>' {
				i++
			}
			if i >= len(s) {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			tag := strings.ToLower(s[begin+1 : i])
			if !htmlTags[tag] {
				return "", nil, fmt.Errorf("Unsupported start tag %q at byte offset %d", tag, begin)
			}
			el := open{tag: tag, offset: off, begin: out.Len()}
			spoilerClass := false
			for at(i) != '>' {
				for i < len(s) && isSpace(s[i]) {
					i++
				}
				if at(i) == '>' {
					break
				}
				nameBegin := i
				for !isSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				name := s[nameBegin:i]
				if name == "" {
					if i >= len(s) {
						return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
					}
					return "", nil, fmt.Errorf("Empty attribute name in the tag %q at byte offset %d", tag, begin)
				}
				for i < len(s) && isSpace(s[i]) {
					i++
				}
				if at(i) != '=' {
					if i >= len(s) {
						return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
					}
					if tag == "blockquote" && name == "expandable" {
						el.expandable = true
						continue
					}
					return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag %q at byte offset %d", tag, begin)
				}
				i++
				for i < len(s) && isSpace(s[i]) {
					i++
				}
				if i >= len(s) {
					return "", nil, fmt.Errorf("Unclosed start tag %q at byte offset %d", tag, begin)
				}
				var value string
				if q := s[i]; q != '\'' && q != '"' {
					// An unquoted value is an SGML name token, and
					// case-insensitive.
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = strings.ToLower(s[tokenBegin:i])
					if !isSpace(at(i)) && at(i) != '>' {
						return "", nil, fmt.Errorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					// Inside quotes an unknown "&" stays literal, as in
					// TDLib: URLs are full of them.
					i++
					var v strings.Builder
					for i < len(s) && s[i] != q {
						if s[i] == '&' {
							if r, n, ok := decodeHTMLEntity(s, i); ok {
								v.WriteRune(r)
								i += n
								continue
							}
						}
						v.WriteByte(s[i])
						i++
					}
					if i < len(s) {
						i++ // the closing quote
					}
					value = v.String()
				}
				if i >= len(s) {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case tag == "a" && name == "href":
					el.arg = value
				case tag == "code" && name == "class" && strings.HasPrefix(value, "language-"):
					el.arg = value[len("language-"):]
				case tag == "span" && name == "class":
					spoilerClass = value == "tg-spoiler"
				case tag == "tg-emoji" && name == "emoji-id":
					el.arg = value
				}
			}
			if tag == "span" && !spoilerClass {
				return "", nil, fmt.Errorf(`Tag "span" must have class "tg-spoiler" at byte offset %d`, begin)
			}
			if tag == "tg-emoji" && el.arg == "" {
				return "", nil, fmt.Errorf(`Tag "tg-emoji" must have attribute "emoji-id" at byte offset %d`, begin)
			}
			stack = append(stack, el)
			continue
		}

		// An end tag.
		if len(stack) == 0 {
			return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		for !isSpace(at(i)) && at(i) != '>' {
			i++
		}
		endName := s[begin+2 : i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if at(i) != '>' {
			return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if endName != "" && endName != el.tag {
			return "", nil, fmt.Errorf(`Unmatched end tag at byte offset %d, expected "</%s>", found "</%s>"`, begin, el.tag, endName)
		}
		if off > el.offset {
			ents = closeElement(ents, el.tag, el.arg, el.expandable, el.offset, off-el.offset, out.String()[el.begin:])
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag %q", stack[len(stack)-1].tag)
	}
	for i := range ents {
		if ents[i].Type == "code" {
			ents[i].Language = "" // kept only to pair with an enclosing <pre>
		}
	}
	sortEntities(ents)
	return out.String(), ents, nil
}

// closeElement appends the entity for an element that has just ended.
func closeElement(ents []entity, tag, arg string, expandable bool, offset, length int, text string) []entity {
	e := entity{Offset: offset, Length: length}
	switch tag {
	case "b", "strong":
		e.Type = "bold"
	case "i", "em":
		e.Type = "italic"
	case "u", "ins":
		e.Type = "underline"
	case "s", "strike", "del":
		e.Type = "strikethrough"
	case "span", "tg-spoiler":
		e.Type = "spoiler"
	case "blockquote":
		e.Type = "blockquote"
		if expandable {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		e.Type, e.CustomEmojiID = "custom_emoji", arg
	case "a":
		// TDLib takes the text as the URL of an <a> without href.
		url := arg
		if url == "" {
			url = text
		}
		if url == "" {
			return ents
		}
		e.Type, e.URL = "text_link", url
	case "pre":
		// <pre><code class="language-x">…</code></pre> is one entity: a
		// pre block in language x.
		if n := len(ents); n > 0 && ents[n-1].Type == "code" && ents[n-1].Offset == offset &&
			ents[n-1].Length == length && ents[n-1].Language != "" {
			ents[n-1].Type = "pre"
			return ents
		}
		e.Type = "pre"
	case "code":
		if n := len(ents); n > 0 && ents[n-1].Type == "pre" && ents[n-1].Offset == offset &&
			ents[n-1].Length == length && arg != "" {
			ents[n-1].Language = arg
			return ents
		}
		e.Type, e.Language = "code", arg
	}
	return append(ents, e)
}

// decodeHTMLEntity decodes the entity starting at s[i] == '&', returning
// the character and the entity's length in bytes. As in TDLib the
// semicolon is optional, and a numeric entity must denote a character
// other than NUL below U+10FFFF in fewer than ten bytes.
func decodeHTMLEntity(s string, i int) (rune, int, bool) {
	at := func(j int) byte {
		if j < len(s) {
			return s[j]
		}
		return 0
	}
	j := i + 1
	var r uint64
	if at(j) == '#' {
		j++
		if at(j) == 'x' {
			j++
			for isHex(at(j)) && r < 0x110000 {
				r = r*16 + uint64(hexValue(at(j)))
				j++
			}
		} else {
			for '0' <= at(j) && at(j) <= '9' && r < 0x110000 {
				r = r*10 + uint64(at(j)-'0')
				j++
			}
		}
		if r == 0 || r >= 0x10FFFF || j-i >= 10 {
			return 0, 0, false
		}
	} else {
		for isAlpha(at(j)) {
			j++
		}
		switch s[i+1 : j] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			return 0, 0, false
		}
	}
	if at(j) == ';' {
		j++
	}
	if r > utf8.MaxRune {
		return 0, 0, false
	}
	return rune(r), j - i, true
}

// isSpace is TDLib's: it counts NUL, the end of its strings, as space.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', 0, '\v', '\f':
		return true
	}
	return false
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
