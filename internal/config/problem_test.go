package config

import (
	"errors"
	"testing"
)

// TestPlace: each problem is reported at its field inside the block, with
// the field's key path; a field that was not written at the place of the
// nearest value that was; each line of a joined error on its own.
func TestPlace(t *testing.T) {
	f, err := Parse("p.yaml", []byte(sample), env(map[string]string{"SECRET": "s", "STATUS": "201"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, at, field string
		err             error
		want            []string
	}{
		{"a field", "authorizers.users", "jwks_uri", errors.New("bad"), []string{"p.yaml:10:15: authorizers.users.jwks_uri: bad"}},
		{"a field of a field", "routes[1]", "integration.status", errors.New("bad"), []string{"p.yaml:29:15: routes[1].integration.status: bad"}},
		{"an entry of a list of strings", "authorizers.users", "audience[0]", errors.New("bad"), []string{"p.yaml:9:16: authorizers.users.audience[0]: bad"}},
		{"an entry of the block", "routes", "[1]", errors.New("bad"), []string{"p.yaml:26:5: routes[1]: bad"}},
		{"the block", "authorizers.users", "", errors.New("bad"), []string{"p.yaml:6:5: authorizers.users: bad"}},
		{"a field not written", "authorizers.users", "cache_size", errors.New("bad"), []string{"p.yaml:6:5: authorizers.users.cache_size: bad"}},
		{"the top level", "", "admin_listen", errors.New("bad"), []string{"p.yaml:2:15: admin_listen: bad"}},
		{"several lines", "authorizers.users", "issuer", errors.Join(errors.New("one"), errors.New("two")),
			[]string{"p.yaml:8:13: authorizers.users.issuer: one", "p.yaml:8:13: authorizers.users.issuer: two"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ps Problems
			ps.Add(tt.field, tt.err)
			ps.Add("ignored", nil)
			got := f.Place(tt.at, ps)
			if len(got) != len(tt.want) {
				t.Fatalf("Place = %v; want %q", &got, tt.want)
			}
			for i := range got {
				if got[i].Error() != tt.want[i] {
					t.Errorf("line %d = %q; want %q", i, got[i].Error(), tt.want[i])
				}
			}
			if ps.Err().Error() != tt.err.Error() {
				t.Errorf("Err = %q; want %q", ps.Err(), tt.err)
			}
		})
	}
	if err := (Problems{}).Err(); err != nil {
		t.Errorf("no problems: Err = %v", err)
	}
}
