package admin

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// /readyz stays 200 while a part is degraded (the replica still serves),
// and says which part and why.
func TestReadyzDegraded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		degraded map[string]string
		want     string
	}{
		{"ready", nil, `{"status":"ready"}`},
		{"redis down", map[string]string{"redis": "dial tcp 127.0.0.1:6379: connect: connection refused"},
			`{"redis":"dial tcp 127.0.0.1:6379: connect: connection refused","status":"degraded"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Handler(Options{
				Gatherer: prometheus.NewRegistry(),
				NotReady: func() []string { return nil },
				Degraded: func(context.Context) map[string]string { return tc.degraded },
			})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			if w.Code != 200 || w.Body.String() != tc.want+"\n" && w.Body.String() != tc.want {
				t.Fatalf("/readyz = %d %q; want 200 %s", w.Code, w.Body, tc.want)
			}
		})
	}
}
