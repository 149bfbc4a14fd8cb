package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/portcullis/portcullis/internal/issuer"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestEmbeddedIssuer serves a development issuer and the gateway from one
// configuration, gets tokens with the client_credentials grant (through
// golang.org/x/oauth2) and the password grant, and calls the gateway.
func TestEmbeddedIssuer(t *testing.T) {
	addr := freePort(t)
	pwHash, _ := issuer.HashPassword("pw")
	secretHash, _ := issuer.HashPassword("s3cret")
	keys := t.TempDir()
	r := start(t, fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
issuers:
  dev:
    listen: %[1]s
    keys_dir: %[2]s
    audience: [api]
    users: [{username: alice, password_hash: %[3]q, scopes: [read], claims: {tenant: acme}}]
    clients:
      - {client_id: cli, public: true}
      - {client_id: svc, client_secret_hash: %[4]q, scopes: [read, write], grant_types: [client_credentials]}
authorizers:
  users: {type: jwt, issuer: "http://%[1]s", audience: [api]}
routes:
  - route: GET /read
    authorizer: users
    authorization_scopes: [read]
    integration: {type: mock, body: ok}
  - route: GET /write
    authorizer: users
    authorization_scopes: [write]
    integration: {type: mock, body: ok}
`, addr, keys, pwHash, secretHash))
	eventually(t, "ready", func() bool { code, _ := get(t, r.admin+"/readyz"); return code == 200 })

	cc := clientcredentials.Config{ClientID: "svc", ClientSecret: "s3cret", TokenURL: "http://" + addr + "/oauth2/token", Scopes: []string{"write"}}
	svcTok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm("http://"+addr+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	var pw struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&pw)
	resp.Body.Close()
	if pw.AccessToken == "" {
		t.Fatalf("password grant: status %d", resp.StatusCode)
	}

	bad, _ := http.PostForm("http://"+addr+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {"wrong"}})
	bad.Body.Close()
	if bad.StatusCode != 400 {
		t.Errorf("wrong password: %d, want 400", bad.StatusCode)
	}

	cases := []struct {
		path, token string
		want        int
	}{
		{"/write", svcTok.AccessToken, 200},
		{"/read", svcTok.AccessToken, 403}, // svc asked for write only
		{"/read", pw.AccessToken, 200},
		{"/write", pw.AccessToken, 403},
		{"/read", "", 401},
	}
	for _, c := range cases {
		if code, body := get(t, r.base+c.path, "Authorization", "Bearer "+c.token); code != c.want {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, body, c.want)
		}
	}

	// Rotation (SIGUSR1 in `portcullis serve`): new tokens are signed with a
	// new key, which the gateway picks up on its first unknown-kid refetch;
	// tokens of the old key keep working.
	r.rotate <- struct{}{}
	eventually(t, "rotation logged", func() bool { return strings.Contains(r.logs.String(), "issuer key rotated") })
	time.Sleep(10 * time.Millisecond)
	resp, _ = http.PostForm("http://"+addr+"/oauth2/token", url.Values{
		"grant_type": {"password"}, "client_id": {"cli"}, "username": {"alice"}, "password": {"pw"}})
	var pw2 struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&pw2)
	resp.Body.Close()
	if kid(t, pw2.AccessToken) == kid(t, pw.AccessToken) {
		t.Fatal("token after rotation has the old kid")
	}
	if code, _ := get(t, r.base+"/read", "Authorization", "Bearer "+pw2.AccessToken); code != 200 {
		t.Errorf("token from the rotated key: %d", code)
	}
	if code, _ := get(t, r.base+"/read", "Authorization", "Bearer "+pw.AccessToken); code != 200 {
		t.Errorf("token from the old key after rotation: %d", code)
	}

	// Every line names each key once; the startup line names the issuer
	// and its URL under their own keys.
	if lines := r.logs.RepeatedKeys(); len(lines) > 0 {
		t.Errorf("log lines with a key given twice:\n%s", strings.Join(lines, "\n"))
	}
	startup := false
	for _, rec := range r.logs.Records() {
		if rec["msg"] == "development issuer (not for production)" {
			startup = true
			if rec["issuer"] != "dev" || rec["url"] != "http://"+addr || rec["listen"] != addr {
				t.Errorf("startup line: %v", rec)
			}
		}
	}
	if !startup {
		t.Error("no startup line for the development issuer")
	}
}

func kid(t *testing.T, tok string) string {
	t.Helper()
	var h struct{ Kid string }
	seg := strings.Split(tok, ".")[0]
	b, err := jsonB64(seg)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &h)
	return h.Kid
}
