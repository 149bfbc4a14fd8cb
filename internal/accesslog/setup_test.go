package accesslog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

func TestSetupErrorsHavePositions(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	known := func(name string) error {
		if name == "requestId" || name == "status" {
			return nil
		}
		return errors.New("$context." + name + " is not a variable Portcullis provides")
	}
	for _, tc := range []struct {
		name, block, want string
	}{
		{"aws only", "  format: '$context.requestId $context.identity.vpceId'\n", "cfg.yaml:3:11: access_log.format: $context.identity.vpceId is an AWS variable Portcullis cannot know (it comes from private"},
		{"waf", "  format: '$context.requestId $context.waf.status'\n", "cfg.yaml:3:11: access_log.format: $context.waf.status is an AWS variable Portcullis cannot know (it comes from AWS WAF)"},
		{"client cert", "  format: '$context.identity.clientCert.pem $context.requestId'\n", "$context.identity.clientCert.pem is not a variable Portcullis provides"},
		{"unknown", "  format: '$context.requestId $context.stauts'\n", "cfg.yaml:3:11: access_log.format: $context.stauts is not a variable Portcullis provides"},
		{"syntax", "  format: '$input.body $context.requestId'\n", "cfg.yaml:3:11: access_log.format: $input at offset 0"},
		{"no folder", "  output: nowhere/access.log\n", "cfg.yaml:3:11: access_log.output: the folder of " + filepath.Join(dir, "nowhere", "access.log")},
		{"folder", "  output: " + dir + "\n", "is a folder, not a file"},
		{"file as folder", "  output: file/access.log\n", "file is not a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse(filepath.Join(dir, "cfg.yaml"), []byte("listen: 127.0.0.1:0\naccess_log:\n"+tc.block), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Setup(f, known)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Setup = %v\nwant an error with %q", err, tc.want)
			}
		})
	}
}

func TestSetupResolvesOutput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ output, want string }{
		{"", "stderr"}, {"stdout", "stdout"}, {"stderr", "stderr"},
		{"access.log", filepath.Join(dir, "access.log")},
		{filepath.Join(dir, "abs.log"), filepath.Join(dir, "abs.log")},
	} {
		f, err := config.Parse(filepath.Join(dir, "cfg.yaml"), []byte("listen: x\naccess_log: {output: '"+tc.output+"'}\n"), os.LookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		format, out, err := Setup(f, func(string) error { return nil })
		if err != nil || format != nil || out != tc.want {
			t.Errorf("output %q: Setup = %v, %q, %v; want nil, %q", tc.output, format, out, err, tc.want)
		}
	}
}
