package config

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keyLines maps the key path of every object key (and list element) in JSON5
// source to the 1-based line it is written on (where it starts), so errors found on the decoded value can
// point into the file. Paths are joined as joinKey and indexPath do:
// "gateway.auth.token", "agents.list[1].id". When a key repeats in one object
// the last occurrence wins, as it does when decoding.
//
// It only follows the structure (braces, brackets, commas, strings, comments)
// and is lenient: on text that is not JSON5 it returns what it found.
func keyLines(src []byte) map[string]int {
	type frame struct {
		obj       bool
		path      string
		key       string // object: the key being read or last read
		idx       int    // array: the index of the current element
		expectKey bool   // object: the next string or word is a key
	}
	lines := map[string]int{}
	var stack []*frame
	line := 1
	i := 0
	// child is the path of a value that starts here.
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.obj {
			return joinKey(f.path, f.key)
		}
		return indexPath(f.path, f.idx)
	}
	// word is a key or a scalar value just read.
	word := func(s string, at int) {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.obj && f.expectKey {
			f.key, f.expectKey = s, false
			lines[joinKey(f.path, s)] = at
		} else if !f.obj {
			lines[indexPath(f.path, f.idx)] = at
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == '\r':
			if i+1 >= len(src) || src[i+1] != '\n' {
				line++
			}
			i++
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			i += 2
			for i < len(src) && !(src[i] == '*' && i+1 < len(src) && src[i+1] == '/') {
				if src[i] == '\n' {
					line++
				}
				i++
			}
			i += 2
		case c == '{' || c == '[':
			p := child()
			if len(stack) > 0 && !stack[len(stack)-1].obj {
				lines[p] = line // a list element has no key: its line is where it starts
			}
			stack = append(stack, &frame{obj: c == '{', path: p, expectKey: c == '{'})
			i++
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
		case c == ',':
			if len(stack) > 0 {
				f := stack[len(stack)-1]
				if f.obj {
					f.expectKey = true
				} else {
					f.idx++
				}
			}
			i++
		case c == ':':
			i++
		case c == '"' || c == '\'':
			start := line
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				if j < len(src) && src[j] == '\n' {
					line++
				}
				j++
			}
			word(unquoteJSON5(src[i+1:min(j, len(src))]), start)
			i = j + 1
		default:
			r, size := utf8.DecodeRune(src[i:])
			if unicode.IsSpace(r) || r == '\uFEFF' {
				i += size
				continue
			}
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n\v\f,:{}[]/\"'", rune(src[j])) {
				r, size := utf8.DecodeRune(src[j:])
				if unicode.IsSpace(r) || r == '\uFEFF' {
					break
				}
				j += size
			}
			if j == i { // a stray byte: skip it
				j = i + 1
			}
			word(string(src[i:j]), line)
			i = j
		}
	}
	return lines
}

// unquoteJSON5 decodes the escapes of a JSON5 string's content.
func unquoteJSON5(b []byte) string {
	if !strings.ContainsRune(string(b), '\\') {
		return string(b)
	}
	var out strings.Builder
	s := string(b)
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			out.WriteByte(s[i])
			continue
		}
		i++
		switch e := s[i]; e {
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'v':
			out.WriteByte('\v')
		case '0':
			out.WriteByte(0)
		case '\n': // line continuation
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case 'x':
			if n, err := strconv.ParseUint(s[i+1:min(i+3, len(s))], 16, 8); err == nil && i+3 <= len(s) {
				out.WriteRune(rune(n))
				i += 2
			} else {
				out.WriteByte(e)
			}
		case 'u':
			if n, err := strconv.ParseUint(s[i+1:min(i+5, len(s))], 16, 16); err == nil && i+5 <= len(s) {
				r := rune(n)
				i += 4
				if r >= 0xD800 && r < 0xDC00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if lo, err := strconv.ParseUint(s[i+3:i+7], 16, 16); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
						i += 6
					}
				}
				out.WriteRune(r)
			} else {
				out.WriteByte(e)
			}
		default:
			out.WriteByte(e)
		}
	}
	return out.String()
}

// joinKey is the path of key inside the object at path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath is the path of element i of the list at path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// lineFor finds the line of path, or of its nearest ancestor that has one.
func lineFor(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			return 0
		}
		path = path[:cut]
	}
	return 0
}

// lineAt is the 1-based line of the byte at offset (clamped to the text).
func lineAt(src []byte, offset int64) int {
	offset = max(0, min(offset, int64(len(src))))
	line := 1
	for i, c := range src[:offset] {
		if c == '\n' || (c == '\r' && (i+1 >= len(src) || src[i+1] != '\n')) {
			line++
		}
	}
	return line
}
