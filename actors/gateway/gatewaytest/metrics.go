package gatewaytest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Scrape is one GET /metrics, parsed by the Prometheus text parser.
type Scrape map[string]*dto.MetricFamily

// ScrapeMetrics gets base+"/metrics" (with token as a bearer unless it is
// "") and parses it; any status but 200 or a body the parser refuses fails
// the test.
func ScrapeMetrics(t testing.TB, base, token string) Scrape {
	t.Helper()
	code, body := GetMetrics(t, base, "", token)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	fams, err := new(expfmt.TextParser).TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("GET /metrics: not the Prometheus text format: %v\n%s", err, body)
	}
	return Scrape(fams)
}

// GetMetrics is a raw GET base+"/metrics": host, when not "", is sent as
// the Host header; token, when not "", as a bearer.
func GetMetrics(t testing.TB, base, host, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Value is the value of the series of family name whose labels include
// labels (name, value pairs): a counter's or gauge's value, a histogram's
// sample count. A series that is not there is 0 (a labelled series
// appears once it is first used); a family that is not there at all fails
// the test.
func (s Scrape) Value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	m := s.series(t, name, labels)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// Sum is a histogram series' sum of observations (0 when it is not there).
func (s Scrape) Sum(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	return s.series(t, name, labels).GetHistogram().GetSampleSum()
}

// series is the first series of family name with labels, or nil.
func (s Scrape) series(t testing.TB, name string, labels []string) *dto.Metric {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("labels come in name, value pairs: %q", labels)
	}
	f, ok := s[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
