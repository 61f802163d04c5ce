package runs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"openclaw/actors/core"
	"openclaw/actors/store"
)

// A turn the gateway did not finish (kill -9, SIGTERM or SIGUSR1 in the
// middle of it) runs again at the next start, once, from its committed user
// message: its params are kept in the store (namespace inflightNS) from
// before the user message is committed until the turn ends. A resumed turn
// that is interrupted again is not run a third time.

const inflightNS = "runs.inflight"

// resumeTimeout bounds reading the interrupted turns at start.
const resumeTimeout = 30 * time.Second

// errStopping cancels a run because the gateway is stopping (not aborted).
var errStopping = errors.New("gateway stopping")

// inflight is what it takes to run a turn again.
type inflight struct {
	SessionKey        string         `json:"sessionKey"`
	AgentID           string         `json:"agentId"`
	Message           string         `json:"message"`
	Model             string         `json:"model,omitempty"`
	ExtraSystemPrompt string         `json:"extraSystemPrompt,omitempty"`
	TimeoutMs         int64          `json:"timeoutMs,omitempty"`
	Deliver           *core.Delivery `json:"deliver,omitempty"`
	StartedAt         int64          `json:"startedAt"`
	// Resumed marks a turn already run once more after an interruption.
	Resumed bool `json:"resumed,omitempty"`
	// Node is the cluster gateway that ran it ("" for a single gateway):
	// in a cluster the records are shared, and a gateway that starts runs
	// again only its own, never a turn a peer is still running.
	Node string `json:"node,omitempty"`
}

func remember(st store.Store, runID string, rec *inflight) {
	b, _ := json.Marshal(rec)
	st.PutAsync(inflightNS, runID, b, nil)
}

func forget(st store.Store, runID string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_ = st.Delete(ctx, inflightNS, runID)
}

// interrupted reads the turns this gateway (node, "" for a single one)
// left unfinished.
func interrupted(st store.Store, node string) (map[string]*inflight, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resumeTimeout)
	defer cancel()
	rows, err := st.Scan(ctx, inflightNS)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*inflight, len(rows))
	for id, raw := range rows {
		var rec inflight
		if json.Unmarshal(raw, &rec) == nil && rec.SessionKey != "" && rec.Node == node {
			out[id] = &rec
		}
	}
	return out, nil
}
