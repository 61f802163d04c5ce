package gatewaytest

import "encoding/json"

// HistoryLines reads a chat.history answer as one "role:text" string per
// message (a user's string content, or an assistant's text parts joined).
func HistoryLines(raw json.RawMessage) ([]string, error) {
	var h struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(h.Messages))
	for _, m := range h.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) != nil {
			var parts []struct{ Text string }
			_ = json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				s += p.Text
			}
		}
		out = append(out, m.Role+":"+s)
	}
	return out, nil
}
