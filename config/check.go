package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
)

var (
	configType     = reflect.TypeFor[Config]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	idListType     = reflect.TypeFor[IDList]()

	// rawSchemas are the json.RawMessage fields whose content is checked
	// all the same, by key path.
	rawSchemas = map[string]reflect.Type{}
)

// checkValue checks a decoded JSON value against the Go type it will be
// decoded into, by the json tags: unknown keys and wrong types are errors
// naming the key path. A map with string keys takes any key; a
// json.RawMessage takes anything (except the paths in rawSchemas). null
// leaves a field unset; it is an error as a list element or map value.
func checkValue(t reflect.Type, v any, path string) *Error {
	if v == nil {
		return nil
	}
	if t == rawMessageType {
		if s, ok := rawSchemas[path]; ok {
			return checkValue(s, v, path)
		}
		return nil
	}
	if t == idListType {
		arr, ok := v.([]any)
		if !ok {
			return typeError(path, "a list", v)
		}
		for i, e := range arr {
			switch x := e.(type) {
			case string:
			case float64:
				if x != math.Trunc(x) || math.IsInf(x, 0) {
					return typeError(indexPath(path, i), "a string or an integer", e)
				}
			default:
				return typeError(indexPath(path, i), "a string or an integer", e)
			}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkValue(t.Elem(), v, path)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return typeError(path, "an object", v)
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			ft, ok := fields[k]
			if !ok {
				return unknownKey(joinKey(path, k), k, fields)
			}
			if e := checkValue(ft, m[k], joinKey(path, k)); e != nil {
				return e
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return typeError(path, "an object", v)
		}
		for _, k := range sortedKeys(m) {
			p := joinKey(path, k)
			if m[k] == nil {
				return typeError(p, expected(t.Elem()), nil)
			}
			if e := checkValue(t.Elem(), m[k], p); e != nil {
				return e
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			return typeError(path, "a list", v)
		}
		for i, e := range arr {
			p := indexPath(path, i)
			if e == nil {
				return typeError(p, expected(t.Elem()), nil)
			}
			if err := checkValue(t.Elem(), e, p); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return typeError(path, "a string", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeError(path, "true or false", v)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := v.(float64)
		if !ok {
			return typeError(path, "a number", v)
		}
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return &Error{Path: path, Msg: path + ": expected a whole number, got " + fmt.Sprint(x)}
		}
		if x < math.MinInt64 || x >= math.MaxInt64 || reflect.Zero(t).OverflowInt(int64(x)) {
			return &Error{Path: path, Msg: path + ": number out of range"}
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(float64); !ok {
			return typeError(path, "a number", v)
		}
	default:
		return &Error{Path: path, Msg: path + ": unsupported type " + t.String()}
	}
	return nil
}

// expected describes what a value of type t looks like in the file.
func expected(t reflect.Type) string {
	if t == idListType {
		return "a list"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// typeError says what was expected and what kind of value was found. It
// never quotes the value: it may be a secret in the wrong place.
func typeError(path, want string, got any) *Error {
	var kind string
	switch got.(type) {
	case nil:
		kind = "null"
	case string:
		kind = "a string"
	case float64:
		kind = "a number"
	case bool:
		kind = "a boolean"
	case []any:
		kind = "a list"
	case map[string]any:
		kind = "an object"
	default:
		kind = fmt.Sprintf("%T", got)
	}
	where := path
	if where == "" {
		where = "the top level"
	}
	return &Error{Path: path, Msg: where + ": expected " + want + ", got " + kind}
}

// unknownKey is the error for key at path, with a suggestion when a known
// key is close.
func unknownKey(path, key string, fields map[string]reflect.Type) *Error {
	msg := "unknown config key " + path
	best, bestD := "", 3
	for name := range fields {
		d := editDistance(strings.ToLower(key), strings.ToLower(name))
		if d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best != "" && bestD < len(key) && bestD <= max(1, len(key)/3) {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	}
	return &Error{Path: path, Msg: msg}
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct type's fields to their types,
// with the fields of embedded structs promoted as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				if _, dup := out[k]; !dup {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// editDistance is the optimal string alignment distance between a and b,
// by bytes: insertions, deletions, substitutions and transpositions of
// neighbours ("mdoe" → "mode") cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
