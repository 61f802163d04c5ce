package telegram

import (
	"net/http"
	"path"

	"github.com/prometheus/client_golang/prometheus"
)

// sendMethods are the Bot API methods that put a message in a chat: what
// the channel's outbound traffic counts (a streamed reply is one send and
// its edits).
var sendMethods = map[string]bool{"sendMessage": true, "editMessageText": true}

// countSends is the Bot API client's transport: every accepted call of a
// send method counts one outbound update. Counted here, under every caller
// (replies, the send method, pairing answers), rather than at each of them.
type countSends struct {
	base http.RoundTripper
	out  prometheus.Counter
}

func (c countSends) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusOK && sendMethods[path.Base(r.URL.Path)] {
		c.out.Inc()
	}
	return res, err
}

// counted returns a copy of client whose calls are counted into out.
func counted(client *http.Client, out prometheus.Counter) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = countSends{base: base, out: out}
	return &c
}
