package importer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

func intp(n int) *int { return &n }

// TestCORS: what each CORS value becomes, how a second setting merges over
// the first (SAM's property over the definition's extension), and what is
// noted instead of guessed.
func TestCORS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first map[string]any // applied before cors, when set
		cors  map[string]any
		want  *config.CORS
		notes []string // a part of each note's text, in order
	}{
		{"every key", nil, map[string]any{
			"allowOrigins": []any{"https://a.example.com"}, "allowMethods": []any{"GET", "POST"},
			"allowHeaders": []any{"authorization"}, "exposeHeaders": []any{"x-request-id"},
			"maxAge": float64(300), "allowCredentials": true,
		}, &config.CORS{
			AllowOrigins: []string{"https://a.example.com"}, AllowMethods: []string{"GET", "POST"},
			AllowHeaders: []string{"authorization"}, ExposeHeaders: []string{"x-request-id"},
			MaxAge: intp(300), AllowCredentials: true,
		}, nil},
		{"one origin as a string, maxAge as text", nil, map[string]any{"allowOrigins": "https://a.example.com", "maxAge": "60"},
			&config.CORS{AllowOrigins: []string{"https://a.example.com"}, MaxAge: intp(60)}, nil},
		{"the property wins key by key", map[string]any{"allowOrigins": []any{"https://old.example.com"}, "allowMethods": []any{"GET"}},
			map[string]any{"allowOrigins": []any{"https://new.example.com"}},
			&config.CORS{AllowOrigins: []string{"https://new.example.com"}, AllowMethods: []string{"GET"}}, nil},
		{"credentials with any origin", nil, map[string]any{"allowOrigins": []any{"*"}, "allowCredentials": true},
			&config.CORS{AllowOrigins: []string{"*"}}, []string{"allowCredentials cannot go with allowOrigins `*`"}},
		{"unreadable values and unknown keys", nil, map[string]any{"allowOrigins": []any{"https://a.example.com", 7}, "maxAge": 1.5, "allowCredentials": "yes", "allowPrivateNetwork": true},
			&config.CORS{}, []string{"allowCredentials value yes could not be read", "allowOrigins value", "allowPrivateNetwork is not a CORS setting", "maxAge value 1.5 could not be read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{}
			if tc.first != nil {
				CORS(r, "definition", tc.first)
			}
			CORS(r, "property", tc.cors)
			if !reflect.DeepEqual(r.Config.CORS, tc.want) {
				t.Errorf("cors = %+v, want %+v", r.Config.CORS, tc.want)
			}
			if len(r.Notes) != len(tc.notes) {
				t.Fatalf("notes %v, want %d", r.Notes, len(tc.notes))
			}
			for i, n := range tc.notes {
				if !strings.Contains(r.Notes[i].String(), n) {
					t.Errorf("note %d = %q, want it to say %q", i, r.Notes[i], n)
				}
			}
		})
	}
}
