package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
)

// TestImage builds the container image with `make image` and podman, then
// reads it as a registry would: the image configuration (user, entrypoint,
// ports, healthcheck) and the files of its layers, from `podman save`.
// Containers cannot run on this machine, so the binary taken out of the
// image is run directly.
func TestImage(t *testing.T) {
	podman := testbin.Tool(t, "", "podman", "apt-get install -y podman")
	var b [6]byte
	rand.Read(b[:])
	tag := "localhost/portcullis-test:" + hex.EncodeToString(b[:])
	version := "v0.0.0-image-" + hex.EncodeToString(b[:])
	build := exec.Command("make", "-s", "-C", "../..", "image", "ENGINE="+podman, "IMAGE="+tag, "VERSION="+version)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })

	dir := t.TempDir()
	archive := filepath.Join(dir, "image.tar")
	if out, err := exec.Command(podman, "save", "--format", "docker-archive", "-o", archive, tag).CombinedOutput(); err != nil {
		t.Fatalf("podman save: %v\n%s", err, out)
	}
	files := untar(t, archive)
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	var cfg struct {
		Config struct {
			User         string
			ExposedPorts map[string]any
			Entrypoint   []string
			Cmd          []string
			Healthcheck  struct{ Test []string }
		} `json:"config"`
	}
	if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want the non-root 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/portcullis"}) || !slices.Equal(c.Cmd, []string{"serve", "-c", "/etc/portcullis/portcullis.yaml"}) {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["9901/tcp"]; !ok {
		t.Errorf("the admin port is not exposed: %v", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("the API port is not exposed: %v", c.ExposedPorts)
	}
	if want := []string{"CMD", "/usr/local/bin/portcullis", "health", "-c", "/etc/portcullis/portcullis.yaml"}; !slices.Equal(c.Healthcheck.Test, want) {
		t.Errorf("healthcheck %q, want %q", c.Healthcheck.Test, want)
	}

	// The root file system: exactly the binary, the CA certificates and the
	// starter configuration.
	root := filepath.Join(dir, "root")
	var paths []string
	for _, layer := range manifest[0].Layers {
		for name, data := range untarBytes(t, files[layer]) {
			paths = append(paths, name)
			p := filepath.Join(root, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(paths)
	if want := []string{"etc/portcullis/portcullis.yaml", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/portcullis"}; !slices.Equal(paths, want) {
		t.Errorf("files in the image: %q, want %q", paths, want)
	}
	bin := filepath.Join(root, "usr/local/bin/portcullis")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the image's binary is dynamically linked: it cannot run on scratch")
		}
	}
	f.Close()
	if out, errOut, code := run(t, bin, "version"); code != 0 || !strings.HasPrefix(out, "portcullis "+version+" ") {
		t.Errorf("version from the image: exit %d %q %s", code, out, errOut)
	}
	if out, errOut, code := run(t, bin, "check", "-c", filepath.Join(root, "etc/portcullis/portcullis.yaml")); code != 0 {
		t.Errorf("the image's configuration does not check: %s%s", out, errOut)
	}
	// The healthcheck's command, against a gateway served by the image's binary.
	cfgFile := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nserver: {shutdown_delay: 0s}\nroutes:\n  - route: GET /status\n    integration: {type: mock}\n"), 0o644)
	p := startServe(t, bin, cfgFile)
	if out, _, code := run(t, bin, "health", "--url", "http://"+p.adminAddr()); code != 0 || out != "ready\n" {
		t.Errorf("health from the image: exit %d %q", code, out)
	}
}

// untar reads a tar file into memory: regular files only, by name.
func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return untarBytes(t, data)
}

func untarBytes(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(h.Name, "./")] = b
	}
}
