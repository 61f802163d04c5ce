package fakebotapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// secretHeader carries a webhook's secret_token on every delivery, so that
// the receiver can tell Telegram from anyone else who found the URL.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// PostUpdate acts as Telegram delivering update to a webhook: it POSTs the
// update as JSON to url, with secret in the X-Telegram-Bot-Api-Secret-Token
// header unless secret is "", and returns the HTTP status the receiver
// answered. Telegram retries deliveries answered with anything but 2xx;
// PostUpdate leaves that to the caller. The error is only for a request
// that got no answer.
func PostUpdate(ctx context.Context, url, secret string, update json.RawMessage) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(update))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(secretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Drain the body so that the connection can be reused by the next
	// delivery, as it would be by Telegram.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
