package server

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/tlsconf"
)

// describingRegisterer registers into a real registry and keeps, for each
// metric a collector describes, its labels and (for the client library's
// own collector types) its type.
type describingRegisterer struct {
	*prometheus.Registry
	metrics map[string]documentedMetric
}

// documentedMetric is a metric's type ("" when the collector's Go type
// does not say) and its variable labels, sorted.
type documentedMetric struct {
	typ    string
	labels []string
}

var descParts = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

func (d *describingRegisterer) Register(c prometheus.Collector) error {
	typ := ""
	switch c.(type) {
	case *prometheus.GaugeVec, prometheus.Gauge: // before Counter: a Gauge is also one
		typ = "gauge"
	case *prometheus.CounterVec, prometheus.Counter:
		typ = "counter"
	case *prometheus.HistogramVec, prometheus.Histogram:
		typ = "histogram"
	}
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		m := descParts.FindStringSubmatch(desc.String())
		if m == nil {
			continue
		}
		var labels []string
		if m[2] != "" {
			labels = strings.Split(m[2], ",")
		}
		slices.Sort(labels)
		d.metrics[m[1]] = documentedMetric{typ: typ, labels: labels}
	}
	return d.Registry.Register(c)
}

func (d *describingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := d.Register(c); err != nil {
			panic(err)
		}
	}
}

// TestMetricsReferenceIsComplete: docs/operations.md's metrics reference
// says it lists every series on /metrics. Every portcullis_ metric the
// process registers (the gateway's, the operator's, the TLS listener's) is
// in it with its type and exactly its labels, and every metric it lists
// exists. portcullis_responses_cut_total and
// portcullis_tls_certificate_expiry_seconds were missing from it.
func TestMetricsReferenceIsComplete(t *testing.T) {
	reg := &describingRegisterer{Registry: prometheus.NewRegistry(), metrics: map[string]documentedMetric{}}
	gateway.NewMetrics(reg)
	newOperatorMetrics(reg)
	tlsconf.NewTerminator(&tlsconf.Bundle{}, reg)

	documented := readMetricsReference(t, "../../docs/operations.md")
	for name, got := range reg.metrics {
		if !strings.HasPrefix(name, "portcullis_") {
			continue
		}
		doc, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("%s (labels %v) is exposed but not in docs/operations.md's metrics reference", name, got.labels)
		case !slices.Equal(doc.labels, got.labels):
			t.Errorf("%s: documented labels %v, exposed %v", name, doc.labels, got.labels)
		case got.typ != "" && doc.typ != got.typ:
			t.Errorf("%s: documented as a %s, exposed as a %s", name, doc.typ, got.typ)
		}
	}
	for name := range documented {
		if _, ok := reg.metrics[name]; !ok {
			t.Errorf("%s is in docs/operations.md's metrics reference but not exposed", name)
		}
	}
	if len(documented) < 10 {
		t.Fatalf("read only %d metrics from the reference: has its table changed shape?", len(documented))
	}
}

var (
	backticked    = regexp.MustCompile("`([^`]+)`")
	parenthesized = regexp.MustCompile(`\([^)]*\)`) // a label's values
)

// readMetricsReference reads the table of the "Metrics reference" section:
// rows | `name` | type | `label` (values), ... | meaning |.
func readMetricsReference(t *testing.T, path string) map[string]documentedMetric {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]documentedMetric{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Metrics reference"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `portcullis_") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) < 5 {
			t.Fatalf("%s: a row with fewer than four columns: %s", path, line)
		}
		name := strings.Trim(strings.TrimSpace(cols[1]), "`")
		typ, _, _ := strings.Cut(strings.TrimSpace(cols[2]), " ")
		var labels []string
		for _, m := range backticked.FindAllStringSubmatch(parenthesized.ReplaceAllString(cols[3], ""), -1) {
			labels = append(labels, m[1])
		}
		slices.Sort(labels)
		out[name] = documentedMetric{typ: typ, labels: labels}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
