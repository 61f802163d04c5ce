package fakebotapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxBody bounds a request body. Telegram's own limit for uploads is 50 MB;
// a text channel's requests are far smaller, so this only guards the test
// process against a runaway client.
const maxBody = 64 << 20

// reply is a complete answer: the HTTP status and the JSON body. A zero
// reply means the client went away (or the server is closing) before an
// answer was due, and nothing is written.
type reply struct {
	status int
	body   []byte
}

func (r reply) write(w http.ResponseWriter) {
	if r.status == 0 {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(r.body)))
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// okReply wraps result in the success envelope.
func okReply(result any) reply {
	raw, err := json.Marshal(result)
	if err != nil {
		// Results are built from the package's own types; failing to
		// encode one is a bug in the fake, not in the client under test.
		panic(fmt.Sprintf("fakebotapi: encoding result: %v", err))
	}
	return okRaw(raw)
}

// okRaw wraps an already encoded result, sparing getUpdates a decode and
// re-encode of every update.
func okRaw(raw []byte) reply {
	var buf bytes.Buffer
	buf.Grow(len(raw) + 24)
	buf.WriteString(`{"ok":true,"result":`)
	buf.Write(raw)
	buf.WriteByte('}')
	return reply{status: http.StatusOK, body: buf.Bytes()}
}

// okDescribed is the success envelope with a description, which Telegram
// adds to the webhook methods' answers ("Webhook was set").
func okDescribed(result any, description string) reply {
	body, _ := json.Marshal(struct {
		OK          bool   `json:"ok"`
		Result      any    `json:"result"`
		Description string `json:"description"`
	}{true, result, description})
	return reply{status: http.StatusOK, body: body}
}

type responseParameters struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

type errorBody struct {
	OK          bool                `json:"ok"`
	ErrorCode   int                 `json:"error_code"`
	Description string              `json:"description"`
	Parameters  *responseParameters `json:"parameters,omitempty"`
}

// errorReply is Telegram's error envelope; the HTTP status is the error
// code, as Telegram sends it, because clients (telego among them) treat a
// 5xx status as a transport failure before they look at the body.
func errorReply(code int, description string, retryAfter int) reply {
	e := errorBody{ErrorCode: code, Description: description}
	if retryAfter > 0 {
		e.Parameters = &responseParameters{RetryAfter: retryAfter}
	}
	body, _ := json.Marshal(e)
	return reply{status: code, body: body}
}

func badRequest(description string) reply {
	return errorReply(http.StatusBadRequest, "Bad Request: "+description, 0)
}

// params holds a request's parameters as they arrived. A JSON body is
// decoded with UseNumber, so numbers are json.Number, objects
// map[string]any and arrays []any; URL query, URL-encoded and multipart
// values are the strings sent, with JSON-serialized fields (reply_markup,
// say) left as JSON text, which is how they travel in those encodings.
// Uploaded files appear as map[string]any{"file_name": name, "size": n}.
type params map[string]any

// readParams merges the query string with the body, the body winning, as
// Telegram accepts parameters in either place.
func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mediaType = ""
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return p, err
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
		return p, nil
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return p, err
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				p[k] = v[0]
			}
		}
		for k, v := range r.MultipartForm.File {
			if len(v) > 0 {
				p[k] = map[string]any{
					"file_name": v[0].Filename,
					"size":      json.Number(strconv.FormatInt(v[0].Size, 10)),
				}
			}
		}
		return p, nil
	}
	// JSON, and anything unlabelled, which is how telego's nil parameters
	// (getMe) arrive: the body "null".
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return p, err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return p, errors.New("can't parse JSON object")
	}
	for k, v := range obj {
		p[k] = v
	}
	return p, nil
}

// str returns a parameter as text, whichever encoding carried it.
func (p params) str(key string) (string, bool) {
	switch v := p[key].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// int returns an integer parameter; a missing or malformed one counts as
// absent, leaving the method's own checks to report the consequence.
func (p params) int(key string) (int64, bool) {
	var s string
	switch v := p[key].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// bool reads a flag as Telegram does: true, "true" or a non-zero number.
func (p params) bool(key string) bool {
	switch v := p[key].(type) {
	case bool:
		return v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		return err == nil && b
	case json.Number:
		f, err := v.Float64()
		return err == nil && f != 0
	}
	return false
}

// json returns a JSON-serialized parameter decoded, whether it came as a
// JSON value or as JSON text in a form field.
func (p params) json(key string) (any, bool) {
	v, ok := p[key]
	if !ok || v == nil {
		return nil, false
	}
	s, isString := v.(string)
	if !isString {
		return v, true
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// strings returns a list-of-strings parameter such as allowed_updates.
func (p params) strings(key string) ([]string, bool) {
	v, ok := p.json(key)
	if !ok {
		return nil, false
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out, true
}

// canonicalJSON encodes v with sorted keys, so that two encodings of the
// same value compare equal whatever order the client wrote them in.
func canonicalJSON(v any) string {
	if v == nil {
		return ""
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(raw)
}
