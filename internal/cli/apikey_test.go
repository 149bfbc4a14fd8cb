package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
)

// TestAPIKeyCreate: the key is printed once and only its hash is stored;
// the gateway's API key stage then accepts it; an unknown plan or a name
// used already changes nothing.
func TestAPIKeyCreate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(cfg, []byte(`listen: 127.0.0.1:0
api_keys: {keys_file: keys/api-keys.yaml}
usage_plans:
  gold: {quota: {limit: 10, period: MONTH}}
routes:
  - {route: GET /x, api_key_required: true, integration: {type: mock}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys", "api-keys.yaml")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(append([]string{"apikey", "create", "-c", cfg}, args...), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	if code, out, errOut := run("--name", "partner", "--plan", "silver"); code != exitFailed || out != "" || !strings.Contains(errOut, `unknown usage plan "silver" (defined: gold)`) {
		t.Errorf("unknown plan: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(keys); !os.IsNotExist(err) {
		t.Errorf("the keys file was made for a refused key: %v", err)
	}
	if code, _, errOut := run("--plan", "gold"); code != exitUsage || !strings.Contains(errOut, "--name and --plan are required") {
		t.Errorf("no name: exit %d, %s", code, errOut)
	}

	code, out, errOut := run("--name", "partner", "--plan", "gold")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	value := strings.TrimSpace(out)
	if len(value) != apikey.GeneratedLength || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q is not one key", out)
	}
	if strings.Contains(errOut, value) {
		t.Error("the key is on stderr too")
	}
	data, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), value) || !strings.Contains(string(data), apikey.Hash(value)) {
		t.Errorf("keys file:\n%s", data)
	}
	if info, _ := os.Stat(keys); info.Mode().Perm() != 0o600 {
		t.Errorf("keys file mode %v", info.Mode().Perm())
	}
	if code, _, errOut := run("--name", "partner", "--plan", "gold"); code != exitFailed || !strings.Contains(errOut, "exists already") {
		t.Errorf("same name again: exit %d, %s", code, errOut)
	}

	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(state.Settings{}, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stage, err := apikey.Setup(f, apikey.Deps{Counter: state.NewCounters(st), Limiter: st})
	if err != nil {
		t.Fatal(err)
	}
	if v := stage.Check(context.Background(), value); v.Status != 0 || v.Key == nil || v.Key.Name != "partner" {
		t.Errorf("the gateway does not take the new key: %+v", v)
	}
}
