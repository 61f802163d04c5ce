package protocol

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/kaptinlin/jsonschema"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Validator holds the frame schema and one schema per method's params, each
// compiled the first time it is needed: a gateway serves a handful of its 88
// methods most of the time, and compiling them all cost ~1.8 MB of
// allocations and 4-10 ms on the way to the first hello-ok.
// It is safe for concurrent use.
type Validator struct {
	frame   *lazySchema
	methods map[string]*lazySchema // fixed by NewValidator; entries compile on first use
	mu      sync.Mutex             // the compiler is not safe for concurrent use
	c       *jsonschema.Compiler
}

// lazySchema is one embedded schema, compiled once on first use.
type lazySchema struct {
	file string
	once sync.Once
	s    *jsonschema.Schema
	// emptyOK: the schema accepts empty params ({}), the commonest call
	// (health, status); such calls skip the schema.
	emptyOK bool
	err     error
}

// NewValidator lists the embedded schemas; each compiles on first use
// (CompileAll compiles them all now).
func NewValidator() (*Validator, error) {
	entries, err := schemaFS.ReadDir("schemas")
	if err != nil {
		return nil, err
	}
	v := &Validator{methods: make(map[string]*lazySchema, len(entries)), c: jsonschema.NewCompiler()}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		l := &lazySchema{file: e.Name()}
		if name == "frame.request" {
			v.frame = l
			continue
		}
		v.methods[name] = l
	}
	if v.frame == nil {
		return nil, errors.New("schema frame.request.json missing")
	}
	return v, nil
}

// CompileAll compiles every schema not compiled yet and returns the first
// error (tests: a schema that does not compile is found before a client
// calls its method).
func (v *Validator) CompileAll() error {
	if _, err := v.compiled(v.frame); err != nil {
		return err
	}
	for _, l := range v.methods {
		if _, err := v.compiled(l); err != nil {
			return err
		}
	}
	return nil
}

// compiled returns l compiled, compiling it on the first call.
func (v *Validator) compiled(l *lazySchema) (*lazySchema, error) {
	l.once.Do(func() {
		raw, err := schemaFS.ReadFile(path.Join("schemas", l.file))
		if err == nil {
			v.mu.Lock()
			l.s, err = v.c.Compile(raw)
			v.mu.Unlock()
		}
		if err != nil {
			l.err = fmt.Errorf("schema %s: %w", l.file, err)
			return
		}
		l.emptyOK = l.s.Validate(map[string]any{}).IsValid()
	})
	return l, l.err
}

// frameSchema is the compiled frame schema.
func (v *Validator) frameSchema() (*jsonschema.Schema, error) {
	l, err := v.compiled(v.frame)
	return l.s, err
}

// HasSchema reports whether a params schema exists for method.
func (v *Validator) HasSchema(method string) bool { _, ok := v.methods[method]; return ok }

// FrameError says why raw bytes are not a valid request frame.
type FrameError struct {
	// Malformed is true when the bytes are not JSON at all.
	Malformed bool
	// ID is the frame's id when it was a string.
	ID string
	// RawID is the id as the client sent it (a string or a number), echoed
	// in the error response; nil when there was none usable.
	RawID  any
	Reason string
}

func (e *FrameError) Error() string {
	if e.Malformed {
		return "malformed JSON: " + e.Reason
	}
	return "invalid request frame: " + e.Reason
}

// DecodeRequest parses and validates one inbound frame. It returns a
// *FrameError for anything that is not a valid request frame; params are not
// checked here (see ValidateParams) because the handshake and the method
// dispatcher report params failures differently.
func (v *Validator) DecodeRequest(raw []byte) (*Request, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &FrameError{Malformed: true, Reason: err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &FrameError{Malformed: true, Reason: "trailing data after JSON value"}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &FrameError{Reason: "frame must be an object"}
	}
	// Numbers become float64, as JavaScript clients and the reference see
	// them. Left as json.Number, a value like 1e-1000000 makes the schema
	// library's bounds check format a huge rational: minutes of CPU for a
	// 160-byte frame, before authentication.
	if path, bad := toFloats(obj, ""); bad {
		return nil, &FrameError{ID: stringID(obj), RawID: rawID(obj), Reason: "at " + orRoot(path) + ": number out of range"}
	}
	id := stringID(obj)
	if !plainFrame(obj) {
		// Not the plain shape: the schema decides, and words the error.
		frame, err := v.frameSchema()
		if err != nil {
			return nil, &FrameError{ID: id, RawID: rawID(obj), Reason: err.Error()}
		}
		if res := frame.ValidateMap(obj); !res.IsValid() {
			return nil, &FrameError{ID: id, RawID: rawID(obj), Reason: describe(res)}
		}
	}
	req := &Request{ID: id, Method: obj["method"].(string), Params: obj["params"]}
	if req.Params == nil {
		req.Params = map[string]any{}
	}
	return req, nil
}

// plainFrame reports whether obj is a request frame the frame schema
// (schemas/frame.request.json) accepts, checked directly: every frame a
// client sends takes this path, and the schema library costs far more than
// these few comparisons. false means "ask the schema", which then decides
// and explains; FuzzFrame checks that true never disagrees with it.
func plainFrame(obj map[string]any) bool {
	if len(obj) > 5 {
		return false
	}
	for k, val := range obj {
		switch k {
		case "type":
			if val != "req" {
				return false
			}
		case "id", "method":
			if s, ok := val.(string); !ok || s == "" {
				return false
			}
		case "params":
		case "traceparent":
			if s, ok := val.(string); !ok || utf8.RuneCountInString(s) > 128 {
				return false
			}
		default:
			return false
		}
	}
	_, hasType := obj["type"]
	_, hasID := obj["id"]
	_, hasMethod := obj["method"]
	return hasType && hasID && hasMethod
}

func stringID(obj map[string]any) string { id, _ := obj["id"].(string); return id }

// rawID is the id to echo in an error: a non-empty string or a number.
func rawID(obj map[string]any) any {
	switch raw := obj["id"].(type) {
	case string:
		if raw != "" {
			return raw
		}
	case float64:
		return raw
	}
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "root"
	}
	return p
}

// toFloats replaces every json.Number in v (in place) with its float64 value
// and reports the pointer of the first number that does not fit one.
func toFloats(v any, path string) (string, bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if n, ok := e.(json.Number); ok {
				f, err := strconv.ParseFloat(string(n), 64)
				if err != nil && math.IsInf(f, 0) {
					return path + "/" + k, true
				}
				t[k] = f
				continue
			}
			if p, bad := toFloats(e, path+"/"+k); bad {
				return p, true
			}
		}
	case []any:
		for i, e := range t {
			if n, ok := e.(json.Number); ok {
				f, err := strconv.ParseFloat(string(n), 64)
				if err != nil && math.IsInf(f, 0) {
					return path + "/" + strconv.Itoa(i), true
				}
				t[i] = f
				continue
			}
			if p, bad := toFloats(e, path+"/"+strconv.Itoa(i)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// ValidateParams checks params against the method's schema and returns the
// problem as "at <path>: <problem>", or "" when the params are valid. A
// method with no schema accepts nothing but an empty object, so a handler
// can never see params nobody described.
func (v *Validator) ValidateParams(method string, params any) string {
	l, ok := v.methods[method]
	if !ok {
		if m, isMap := params.(map[string]any); isMap && len(m) == 0 {
			return ""
		}
		return "at root: no params accepted"
	}
	if _, err := v.compiled(l); err != nil {
		// Only a broken embedded schema (CompileAll in the tests finds it).
		return "at root: " + err.Error()
	}
	if m, isMap := params.(map[string]any); isMap && len(m) == 0 && l.emptyOK {
		return ""
	}
	res := l.s.Validate(params)
	if res.IsValid() {
		return ""
	}
	return describe(res)
}

// describe turns a failed evaluation into one line naming the JSON pointer of
// the first bad field (in a stable order) and what is wrong with it.
func describe(res *jsonschema.EvaluationResult) string {
	var found []problem
	collect(res, "", &found)
	if len(found) == 0 {
		return "invalid"
	}
	// Ties are broken by path and message: the library reports problems in
	// an order that varies between runs, and the same frame must always get
	// the same answer.
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.rank() != b.rank() {
			return a.rank() < b.rank()
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.msg < b.msg
	})
	p := found[0]
	if p.path == "" {
		// As the reference words it: a root-level problem has no location,
		// except an unexpected property, which says "at root".
		if p.keyword == "additionalProperties" {
			return "at root: " + p.msg
		}
		return p.msg
	}
	return "at " + p.path + ": " + p.msg
}

type problem struct {
	path, keyword, msg string
}

// rank prefers the errors people act on: a missing or unexpected property
// before the noise the library reports beside them (a missing property is
// also checked as null against its own schema).
func (p problem) rank() int {
	switch p.keyword {
	case "required":
		return 0
	case "additionalProperties":
		return 1
	case "schema", "properties", "items", "allOf", "anyOf", "oneOf", "$ref", "format":
		return 9
	default:
		return 2 + strings.Count(p.path, "/")
	}
}

func collect(r *jsonschema.EvaluationResult, parent string, out *[]problem) {
	loc := joinPointer(parent, r.InstanceLocation)
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := r.Errors[k]
		*out = append(*out, problem{path: loc, keyword: e.Keyword, msg: humanize(e)})
	}
	for _, d := range r.Details {
		if !d.Valid {
			collect(d, loc, out)
		}
	}
}

// joinPointer appends a child location to its parent. The library reports a
// detail's InstanceLocation relative to its parent, except at the top where it
// is already absolute; both cases end up as one absolute pointer.
func joinPointer(parent, child string) string {
	if child == "" || child == "/" {
		return parent
	}
	if parent != "" && strings.HasPrefix(child, parent+"/") {
		return child
	}
	return parent + child
}

// sortedList sorts the library's "'a', 'b'" property lists, which come in
// map order: the same frame must always get the same message.
func sortedList(s string) string {
	parts := strings.Split(s, ", ")
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func humanize(e *jsonschema.EvaluationError) string {
	param := func(k string) string { return fmt.Sprint(e.Params[k]) }
	switch e.Keyword {
	case "required":
		if p, ok := e.Params["property"]; ok {
			return "must have required property " + fmt.Sprint(p)
		}
		return "must have required properties " + sortedList(param("properties"))
	case "additionalProperties":
		if p, ok := e.Params["property"]; ok {
			return "unexpected property " + fmt.Sprint(p)
		}
		return "unexpected properties " + sortedList(param("properties"))
	case "type":
		return "must be " + param("expected")
	case "enum":
		return "must be equal to one of the allowed values"
	case "const":
		return "must be equal to constant"
	case "minLength":
		return "must NOT have fewer than " + param("min_length") + " characters"
	case "maxLength":
		return "must NOT have more than " + param("max_length") + " characters"
	case "minimum":
		return "must be >= " + param("minimum")
	case "maximum":
		return "must be <= " + param("maximum")
	case "pattern":
		return "must not be blank"
	}
	msg := e.Message
	for k, v := range e.Params {
		msg = strings.ReplaceAll(msg, "{"+k+"}", fmt.Sprint(v))
	}
	return msg
}
