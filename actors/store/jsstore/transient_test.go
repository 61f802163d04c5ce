package jsstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"openclaw/actors/store"
)

func TestTransient(t *testing.T) {
	api := func(code int, errCode jetstream.ErrorCode) error {
		return &jetstream.APIError{Code: code, ErrorCode: errCode, Description: "d"}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"no responders", nats.ErrNoResponders, true},
		{"no responders, wrapped", fmt.Errorf("put: %w", nats.ErrNoResponders), true},
		{"no response from stream", jetstream.ErrNoStreamResponse, true},
		{"request timeout", nats.ErrTimeout, true},
		{"an attempt's deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), true},
		{"reconnecting", nats.ErrConnectionReconnecting, true},
		{"disconnected", nats.ErrDisconnected, true},
		{"no heartbeat", jetstream.ErrNoHeartbeat, true},
		{"10008 temporarily unavailable", api(503, 10008), true},
		{"10009 not the leader", api(500, 10009), true},
		{"10118 stream offline", api(500, 10118), true},
		{"10119 consumer offline", api(500, 10119), true},
		{"10194 stream offline, reason", api(500, 10194), true},
		{"any 503", api(503, 10023), true},
		{"api error, wrapped", fmt.Errorf("jsstore: %w", api(503, 10008)), true},
		{"wrong last sequence (a conflict)", api(400, 10071), false},
		{"stream not found", api(404, 10059), false},
		{"key exists", jetstream.ErrKeyExists, false},
		{"key not found", jetstream.ErrKeyNotFound, false},
		{"cancelled", context.Canceled, false},
		{"lock lost", store.ErrLockLost, false},
		{"fenced", store.ErrFenced, false},
		{"connection closed", nats.ErrConnectionClosed, false},
		{"plain error", errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
