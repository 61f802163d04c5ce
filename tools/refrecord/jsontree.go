package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// jv is a JSON value that keeps the order of object keys, so a recording
// shows fields in the order the reference sent them.
type jv struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []*jv // object values (parallel to keys) or array items
	str  string
	num  json.Number
	b    bool
}

func parseJSON(data []byte) (*jv, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func mustJSON(data []byte) *jv {
	v, err := parseJSON(data)
	if err != nil {
		return &jv{kind: 's', str: string(data)}
	}
	return v
}

func decodeValue(dec *json.Decoder) (*jv, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jv{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				val, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, val)
			}
			_, err := dec.Token()
			return v, err
		case '[':
			v := &jv{kind: 'a'}
			for dec.More() {
				val, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				v.vals = append(v.vals, val)
			}
			_, err := dec.Token()
			return v, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &jv{kind: 's', str: t}, nil
	case json.Number:
		return &jv{kind: 'n', num: t}, nil
	case bool:
		return &jv{kind: 'b', b: t}, nil
	case nil:
		return &jv{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// get returns the value of key in an object (nil if absent).
func (v *jv) get(key string) *jv {
	if v == nil || v.kind != 'o' {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// path follows keys through nested objects.
func (v *jv) path(keys ...string) *jv {
	for _, k := range keys {
		v = v.get(k)
	}
	return v
}

func (v *jv) strValue() string {
	if v == nil || v.kind != 's' {
		return ""
	}
	return v.str
}

// set replaces or appends key in an object.
func (v *jv) set(key string, val *jv) {
	for i, k := range v.keys {
		if k == key {
			v.vals[i] = val
			return
		}
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
}

func jstr(s string) *jv { return &jv{kind: 's', str: s} }

// jobj builds an object from alternating keys and values (values are *jv,
// json.RawMessage, or anything json.Marshal takes).
func jobj(kv ...any) *jv {
	v := &jv{kind: 'o'}
	for i := 0; i+1 < len(kv); i += 2 {
		v.keys = append(v.keys, kv[i].(string))
		v.vals = append(v.vals, toJV(kv[i+1]))
	}
	return v
}

func jarr(items ...*jv) *jv { return &jv{kind: 'a', vals: items} }

func toJV(x any) *jv {
	switch x := x.(type) {
	case *jv:
		if x == nil {
			return &jv{kind: 'z'}
		}
		return x
	case json.RawMessage:
		if len(x) == 0 {
			return &jv{kind: 'z'}
		}
		return mustJSON(x)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return jstr(err.Error())
	}
	return mustJSON(b)
}

// clone is a deep copy.
func (v *jv) clone() *jv {
	if v == nil {
		return nil
	}
	c := *v
	c.keys = append([]string(nil), v.keys...)
	c.vals = make([]*jv, len(v.vals))
	for i, x := range v.vals {
		c.vals[i] = x.clone()
	}
	return &c
}

// encode writes v indented by two spaces, keys in their original order,
// without HTML escaping (so "<placeholders>" stay readable).
func (v *jv) encode() []byte {
	var b bytes.Buffer
	v.write(&b, 0)
	b.WriteByte('\n')
	return b.Bytes()
}

func (v *jv) write(b *bytes.Buffer, depth int) {
	switch v.kind {
	case 'o':
		if len(v.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, k := range v.keys {
			b.WriteString(strings.Repeat("  ", depth+1))
			writeString(b, k)
			b.WriteString(": ")
			v.vals[i].write(b, depth+1)
			if i < len(v.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteByte('}')
	case 'a':
		if len(v.vals) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, x := range v.vals {
			b.WriteString(strings.Repeat("  ", depth+1))
			x.write(b, depth+1)
			if i < len(v.vals)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteByte(']')
	case 's':
		writeString(b, v.str)
	case 'n':
		b.WriteString(v.num.String())
	case 'b':
		if v.b {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	default:
		b.WriteString("null")
	}
}

func writeString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
}

// sortedKeys returns a map's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// compactJSON encodes v on one line, keys in order, without HTML escaping.
func compactJSON(v *jv) string {
	var b bytes.Buffer
	v.writeCompact(&b)
	return b.String()
}

func (v *jv) writeCompact(b *bytes.Buffer) {
	switch v.kind {
	case 'o':
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			v.vals[i].writeCompact(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, x := range v.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			x.writeCompact(b)
		}
		b.WriteByte(']')
	default:
		v.write(b, 0)
	}
}
