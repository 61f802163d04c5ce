package protocol

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Schemas are generated from the Go params types (go tool task protocol:gen),
// the runbook's `pnpm protocol:gen`: the types are the source of truth and
// the committed files in schemas/ are what the validator compiles and what a
// reader of the contract reads. A test fails when the two disagree.
//
// The rules, read off a struct type:
//   - every object is closed (additionalProperties: false) unless the type
//     implements SchemaExtender and opens itself;
//   - a field is required unless its json tag says omitempty or omitzero;
//   - Go kinds map to JSON types: string, boolean, integer (int kinds),
//     number (floats), array (slices), object (structs; maps give
//     additionalProperties of the element's schema; map[string]any is any
//     object), and any value for interface types and json.RawMessage;
//   - struct tags add keywords: minLength, maxLength, minimum, maximum,
//     minItems, maxItems, pattern, const, enum (comma-separated), and type
//     (a |-separated list that replaces the inferred type, for fields that
//     accept several, e.g. "string|integer" on a json.RawMessage).

// SchemaExtender lets a params type add what tags cannot say (anyOf, an
// open object). It is called on the type's zero value with the generated
// schema of the object.
type SchemaExtender interface {
	ExtendSchema(s map[string]any)
}

// GenerateSchema returns the JSON Schema of t (a struct type or a pointer to
// one) with the given $id, indented, with a trailing newline.
func GenerateSchema(id string, t reflect.Type) ([]byte, error) {
	s, err := schemaOf(t, map[reflect.Type]bool{})
	if err != nil {
		return nil, err
	}
	s["$id"] = id
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage(nil))
	extenderType   = reflect.TypeOf((*SchemaExtender)(nil)).Elem()
)

func schemaOf(t reflect.Type, seen map[reflect.Type]bool) (map[string]any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return map[string]any{}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.Interface:
		return map[string]any{}, nil
	case reflect.Slice, reflect.Array:
		items, err := schemaOf(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings", t)
		}
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}, nil
		}
		elem, err := schemaOf(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "object", "additionalProperties": elem}, nil
	case reflect.Struct:
		return structSchema(t, seen)
	}
	return nil, fmt.Errorf("%s: no JSON Schema for kind %s", t, t.Kind())
}

func structSchema(t reflect.Type, seen map[reflect.Type]bool) (map[string]any, error) {
	if seen[t] {
		return nil, fmt.Errorf("%s: recursive types are not supported", t)
	}
	seen[t] = true
	defer delete(seen, t)
	props := map[string]any{}
	required := []string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := schemaOf(f.Type, seen)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if err := applyTags(s, f.Tag); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		props[name] = s
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if reflect.PointerTo(t).Implements(extenderType) {
		reflect.New(t).Interface().(SchemaExtender).ExtendSchema(s)
	} else if t.Implements(extenderType) {
		reflect.Zero(t).Interface().(SchemaExtender).ExtendSchema(s)
	}
	return s, nil
}

// applyTags adds the keywords a field's struct tags name.
func applyTags(s map[string]any, tag reflect.StructTag) error {
	for _, k := range []string{"minLength", "maxLength", "minItems", "maxItems"} {
		if v, ok := tag.Lookup(k); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("tag %s=%q: %w", k, v, err)
			}
			s[k] = n
		}
	}
	for _, k := range []string{"minimum", "maximum"} {
		if v, ok := tag.Lookup(k); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("tag %s=%q: %w", k, v, err)
			}
			s[k] = n
		}
	}
	if v, ok := tag.Lookup("pattern"); ok {
		s["pattern"] = v
	}
	if v, ok := tag.Lookup("type"); ok {
		types := strings.Split(v, "|")
		if len(types) == 1 {
			s["type"] = types[0]
		} else {
			s["type"] = types
		}
	}
	if v, ok := tag.Lookup("const"); ok {
		delete(s, "type")
		s["const"] = v
	}
	if v, ok := tag.Lookup("enum"); ok {
		delete(s, "type")
		s["enum"] = strings.Split(v, ",")
	}
	return nil
}
