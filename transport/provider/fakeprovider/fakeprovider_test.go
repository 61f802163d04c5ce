package fakeprovider_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"openclaw/transport/provider/fakeprovider"
)

// post sends a chat-completions request and returns the response.
func post(t *testing.T, url, body string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// events reads the data: payloads of an event stream.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, line)
		} else if sc.Text() != "" {
			t.Errorf("unexpected line %q", sc.Text())
		}
	}
	return out
}

const streamReq = `{"model":"m1","stream":true,"stream_options":{"include_usage":true},
	"messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"two words"}]}]}`

// TestWireFormat pins the exact chunk shapes of a streamed reply.
func TestWireFormat(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Reply{
		Text: "Hi!", Deltas: 2,
		ToolCalls:    []fakeprovider.ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1}`}},
		ArgFragments: 2,
	})
	res := post(t, s.URL, streamReq, nil)
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("%d %s", res.StatusCode, ct)
	}
	got := events(t, res.Body)
	chunk := func(choices, usage string) string {
		var created struct {
			Created int64 `json:"created"`
		}
		_ = json.Unmarshal([]byte(got[0]), &created)
		b, _ := json.Marshal(created.Created)
		return `{"id":"chatcmpl-fake000001","object":"chat.completion.chunk","created":` + string(b) +
			`,"model":"m1","system_fingerprint":"fp_fake","choices":` + choices + `,"usage":` + usage + `}`
	}
	delta := func(d string) string {
		return chunk(`[{"index":0,"delta":`+d+`,"logprobs":null,"finish_reason":null}]`, "null")
	}
	want := []string{
		delta(`{"role":"assistant","content":""}`),
		delta(`{"content":"H"}`),
		delta(`{"content":"i!"}`),
		delta(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}`),
		delta(`{"tool_calls":[{"index":0,"function":{"arguments":"\":1}"}}]}`),
		chunk(`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]`, "null"),
		chunk(`[]`, `{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}`),
		"[DONE]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	wantMsgs := []fakeprovider.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "two words"}}
	if r.Model != "m1" || !r.Stream || !r.IncludeUsage || !reflect.DeepEqual(r.Messages, wantMsgs) {
		t.Errorf("recorded %+v", r)
	}
}

func TestNoUsageWithoutIncludeUsage(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Text("x", 1))
	got := events(t, post(t, s.URL, `{"model":"m","stream":true,"messages":[]}`, nil).Body)
	if len(got) != 4 || strings.Contains(strings.Join(got, ""), "usage") {
		t.Errorf("events %q", got)
	}
}

func TestEchoNonStreamingAndAuth(t *testing.T) {
	s := fakeprovider.New(t)
	s.RequireAPIKey("k1")

	res := post(t, s.URL, `{"model":"m","messages":[{"role":"user","content":"hello"}]}`, nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 401 || !strings.Contains(string(body), `"code":"invalid_api_key"`) {
		t.Errorf("without key: %d %s", res.StatusCode, body)
	}

	res = post(t, s.URL, `{"model":"m","messages":[{"role":"user","content":"hello"}]}`, http.Header{"Authorization": {"Bearer k1"}})
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || c.Choices[0].Message.Content != "echo: hello" || c.Choices[0].FinishReason != "stop" {
		t.Errorf("%+v", c)
	}
}

func TestErrorReplyAndUnknownPath(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Reply{Status: 429, ErrorMessage: "slow", Header: fakeprovider.RetryAfter(3 * time.Second)})
	res := post(t, s.URL, streamReq, nil)
	body, _ := io.ReadAll(res.Body)
	want := `{"error":{"code":"rate_limit_exceeded","message":"slow","param":null,"type":"requests"}}` + "\n"
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "3" || string(body) != want {
		t.Errorf("%d %v %s", res.StatusCode, res.Header, body)
	}
	res = post(t, strings.TrimSuffix(s.URL, "/v1"), streamReq, nil)
	if res.StatusCode != 404 {
		t.Errorf("POST /chat/completions: %d", res.StatusCode)
	}
}

// TestStartAndCloseWhileStalled: the non-test entry point, and Close ending a
// stream that would stall forever.
func TestStartAndCloseWhileStalled(t *testing.T) {
	s, err := fakeprovider.Start("127.0.0.1:0", fakeprovider.Reply{Text: "a b", Fault: fakeprovider.Stall, FaultAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	res := post(t, s.URL, streamReq, nil)
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("%q %v", line, err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked on a stalled stream")
	}
	if _, err := fakeprovider.Start("127.0.0.1:notaport", fakeprovider.Reply{}); err == nil {
		t.Error("Start on a bad address succeeded")
	}
}

func TestResponder(t *testing.T) {
	s := fakeprovider.New(t, fakeprovider.Text("scripted", 1))
	s.SetResponder(func(r fakeprovider.Request) fakeprovider.Reply {
		return fakeprovider.Text("model "+r.Model, 1)
	})
	var got []string
	for range 2 {
		ev := events(t, post(t, s.URL, `{"model":"m9","stream":true,"messages":[]}`, nil).Body)
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		_ = json.Unmarshal([]byte(ev[1]), &c)
		got = append(got, c.Choices[0].Delta.Content)
	}
	if !reflect.DeepEqual(got, []string{"scripted", "model m9"}) {
		t.Errorf("%q", got)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want []string
	}{
		{"", 3, nil},
		{"abc", 5, []string{"a", "b", "c"}},
		{"abcdef", 2, []string{"abc", "def"}},
		{"one two  three", 0, []string{"one", " two", "  three"}},
		{" lead", 0, []string{" lead"}},
		{"ééé", 3, []string{"é", "é", "é"}},
	}
	for _, tt := range tests {
		if got := fakeprovider.Split(tt.s, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestKeepRequests(t *testing.T) {
	s := fakeprovider.New(t)
	s.KeepRequests(2)
	for _, m := range []string{"a", "b", "c", "d", "e"} {
		_, _ = io.ReadAll(post(t, s.URL, `{"model":"`+m+`","messages":[]}`, nil).Body)
	}
	var got []string
	for _, r := range s.Requests() {
		got = append(got, r.Model)
	}
	if !reflect.DeepEqual(got, []string{"d", "e"}) || s.Served() != 5 {
		t.Errorf("kept %q, served %d", got, s.Served())
	}
}

func TestOnChunk(t *testing.T) {
	s := fakeprovider.New(t,
		fakeprovider.Reply{Text: "abcd", Deltas: 4, ToolCalls: []fakeprovider.ToolCall{{Name: "f", Arguments: `{}`}}},
		fakeprovider.Reply{Text: "xy", Deltas: 2, ChunkDelay: time.Millisecond},
		fakeprovider.Reply{Text: "no hook"},
	)
	type call struct{ seq, index int }
	var (
		mu    sync.Mutex
		calls []call
		last  time.Time
	)
	s.OnChunk(func(seq, index int, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if at.Before(last) {
			t.Errorf("chunk %d/%d at %v before the previous one", seq, index, at)
		}
		last = at
		calls = append(calls, call{seq, index})
	})
	// The body ends after the handler returned, so every hook has run.
	if n := len(events(t, post(t, s.URL, streamReq, nil).Body)); n != 1+4+2+1+1+1+1 {
		t.Fatalf("%d events", n)
	}
	_ = events(t, post(t, s.URL, streamReq, nil).Body)
	s.OnChunk(nil)
	_ = events(t, post(t, s.URL, streamReq, nil).Body)
	mu.Lock()
	defer mu.Unlock()
	want := []call{{1, 0}, {1, 1}, {1, 2}, {1, 3}, {2, 0}, {2, 1}}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}

// TestHold: a held stream sends the events before HoldAfter, then nothing
// until the gate closes, then the rest.
func TestHold(t *testing.T) {
	gate := make(chan struct{})
	s := fakeprovider.New(t, fakeprovider.Reply{Text: "one two three", Deltas: 3, Hold: gate, HoldAfter: 2})
	res := post(t, s.URL, streamReq, nil)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- line
			}
		}
		close(lines)
	}()
	for i := 0; i < 2; i++ { // the role chunk and "one"
		select {
		case <-lines:
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d before the hold did not arrive", i)
		}
	}
	select {
	case l := <-lines:
		t.Fatalf("an event arrived while held: %s", l)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if len(rest) == 0 || rest[len(rest)-1] != "[DONE]" || !strings.Contains(strings.Join(rest, ""), "three") {
		t.Fatalf("after the hold: %v", rest)
	}
}
