package controlui

import (
	"sort"
	"strconv"
	"strings"
)

// encodingSuffix is the file a precompressed representation is kept in.
var encodingSuffix = map[string]string{"br": ".br", "gzip": ".gz"}

// acceptedEncodings are the precompressed encodings an Accept-Encoding
// header takes, best first: by q-value, brotli before gzip on a tie. "*"
// takes both; q=0 refuses one.
func acceptedEncodings(header string) []string {
	q := map[string]float64{}
	star := -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		weight := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					weight = f
				}
			}
		}
		switch name {
		case "br", "gzip":
			q[name] = weight
		case "x-gzip":
			q["gzip"] = weight
		case "*":
			star = weight
		}
	}
	var out []string
	for _, enc := range []string{"br", "gzip"} {
		w, ok := q[enc]
		if !ok {
			w = star
		}
		if w > 0 {
			q[enc] = w
			out = append(out, enc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return q[out[i]] > q[out[j]] })
	return out
}
