package protocol

import (
	"bytes"
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

// SchemaProvider is a type that gives its whole schema itself (a list that
// decodes strings and numbers alike, say).
type SchemaProvider interface {
	JSONSchema() map[string]any
}

// SchemaOptions adjust GenerateSchemaWith.
type SchemaOptions struct {
	// Describe, when set, gives a struct field's title and description
	// ("" leaves them out).
	Describe func(owner reflect.Type, f reflect.StructField) (title, description string)
	// Draft, when set, is written as $schema.
	Draft string
	// Title, when set, is the root's title.
	Title string
}

// GenerateSchema returns the JSON Schema of t (a struct type or a pointer to
// one) with the given $id, indented, with a trailing newline.
func GenerateSchema(id string, t reflect.Type) ([]byte, error) {
	return GenerateSchemaWith(id, t, SchemaOptions{})
}

// GenerateSchemaWith is GenerateSchema with options: descriptions from
// outside the type (doc comments), a $schema dialect. An empty id is left
// out.
func GenerateSchemaWith(id string, t reflect.Type, o SchemaOptions) ([]byte, error) {
	g := &generator{o: o, seen: map[reflect.Type]bool{}}
	s, err := g.schemaOf(t)
	if err != nil {
		return nil, err
	}
	if id != "" {
		s["$id"] = id
	}
	if o.Draft != "" {
		s["$schema"] = o.Draft
	}
	if o.Title != "" {
		s["title"] = o.Title
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // descriptions say "<provider>/<model>"
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage(nil))
	extenderType   = reflect.TypeOf((*SchemaExtender)(nil)).Elem()
	providerType   = reflect.TypeOf((*SchemaProvider)(nil)).Elem()
)

type generator struct {
	o    SchemaOptions
	seen map[reflect.Type]bool
}

func (g *generator) schemaOf(t reflect.Type) (map[string]any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return map[string]any{}, nil
	}
	if t.Implements(providerType) {
		return reflect.Zero(t).Interface().(SchemaProvider).JSONSchema(), nil
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
		items, err := g.schemaOf(t.Elem())
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
		elem, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "object", "additionalProperties": elem}, nil
	case reflect.Struct:
		return g.structSchema(t)
	}
	return nil, fmt.Errorf("%s: no JSON Schema for kind %s", t, t.Kind())
}

func (g *generator) structSchema(t reflect.Type) (map[string]any, error) {
	if g.seen[t] {
		return nil, fmt.Errorf("%s: recursive types are not supported", t)
	}
	g.seen[t] = true
	defer delete(g.seen, t)
	props := map[string]any{}
	required := []string{}
	if err := g.fields(t, props, &required); err != nil {
		return nil, err
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

// fields adds t's fields to props; an embedded struct without a json name
// contributes its own fields, as encoding/json flattens it.
func (g *generator) fields(t reflect.Type, props map[string]any, required *[]string) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			if err := g.fields(f.Type, props, required); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := g.schemaOf(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if err := applyTags(s, f.Tag); err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if g.o.Describe != nil {
			title, desc := g.o.Describe(t, f)
			if title != "" {
				s["title"] = title
			}
			if desc != "" {
				s["description"] = desc
			}
		}
		props[name] = s
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") {
			*required = append(*required, name)
		}
	}
	return nil
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
