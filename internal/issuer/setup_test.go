package issuer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestFromConfigPlaces: each problem of an issuer's file is reported at
// the line and column of the field it is about, with that field's key
// path, not at the top of the file; a problem of a user read from
// users_file is at that key. An `issuers:` entry of a gateway's file is
// reported the same way, under its key.
func TestFromConfigPlaces(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("users.yaml", "users:\n  - {username: bob, password_hash: nope}\n")
	pw := hash(t, alicePW)
	// An issuer's file without mistakes; each case changes one of its lines.
	valid := []string{
		"listen: 127.0.0.1:8099",
		"keys_dir: " + filepath.Join(dir, "keys"),
		"audience: [api]",
		"algorithm: ES256",
		"users:",
		"  - {username: alice, password_hash: '" + pw + "', scopes: [read]}",
		"clients:",
		"  - {client_id: cli, public: true}",
		"  - {client_id: svc, client_secret_hash: '" + pw + "', grant_types: [client_credentials]}",
	}
	for _, tt := range []struct {
		name string
		line int    // the line of valid changed, from 1; 0 for none
		with string // what it holds instead
		want string // "line:column: key.path: " and the start of the message
	}{
		{"valid", 0, "", ""},
		{"an empty audience", 3, "audience: [api, '']", "3:17: audience[1]: audience 2 is empty"},
		{"an algorithm", 4, "algorithm: HS256", `4:12: algorithm: algorithm "HS256" is not supported`},
		{"a password hash", 6, "  - {username: alice, password_hash: nope}",
			`6:38: users[0].password_hash: user 1 ("alice"): password_hash is not a bcrypt hash`},
		{"a user without a name", 6, "  - {password_hash: '" + pw + "'}", `6:5: users[0].username: user 1 has no username`},
		{"a claim the issuer sets", 6, "  - {username: alice, password_hash: '" + pw + "', claims: {sub: root}}",
			`6:110: users[0].claims.sub: user 1 ("alice"): claim "sub" is set by the issuer`},
		{"a scope", 6, "  - {username: alice, password_hash: '" + pw + "', scopes: ['a b']}",
			`6:110: users[0].scopes: user 1 ("alice"): scope "a b" is not a valid scope token`},
		{"a grant type", 9, "  - {client_id: svc, client_secret_hash: '" + pw + "', grant_types: [implicit]}",
			`9:119: clients[1].grant_types: client 2 ("svc"): grant type "implicit" is not supported`},
		{"a client without its secret", 9, "  - {client_id: svc, grant_types: [client_credentials]}",
			`9:5: clients[1].client_secret_hash: client 2 ("svc") needs a client_secret_hash`},
		{"a bad hash in the users file", 4, "algorithm: ES256\nusers_file: users.yaml",
			`5:13: users_file: user 2 ("bob"): password_hash is not a bcrypt hash`},
		{"a users file that is not there", 4, "algorithm: ES256\nusers_file: none.yaml",
			"5:13: users_file: users file: reading " + filepath.Join(dir, "none.yaml")},
		{"an issuer URL", 1, "listen: 127.0.0.1:8099\nissuer: dev", `2:9: issuer: the issuer "dev" must be an absolute http or https URL`},
		{"an issuer URL made from listen", 1, "listen: '[::1'", `1:9: listen: the issuer "http://[::1" must be an absolute http or https URL`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines := append([]string(nil), valid...)
			if tt.line > 0 {
				lines[tt.line-1] = tt.with
			}
			path := write("p.yaml", strings.Join(lines, "\n")+"\n")
			f, err := config.LoadIssuer(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = FromConfig(&f.File, "", f.Issuer)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("a valid file: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains("\n"+err.Error(), "\n"+path+":"+tt.want)):
				t.Errorf("got %v\nwant a line %s:%s", err, path, tt.want)
			}
		})
	}

	// The same mistake in an `issuers:` entry of a gateway's file.
	path := write("gateway.yaml", "listen: 127.0.0.1:8080\nissuers:\n  dev:\n    "+strings.Join(valid[:5], "\n    ")+
		"\n      - {username: alice, password_hash: nope}\n")
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = FromConfig(f, "issuers.dev", f.Config.Issuers["dev"])
	if want := path + `:9:42: issuers.dev.users[0].password_hash: user 1 ("alice"): password_hash is not a bcrypt hash`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
