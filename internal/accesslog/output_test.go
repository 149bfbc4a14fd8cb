package accesslog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOutputReopensAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	o := NewOutput(path, nil, nil)
	if _, err := o.Write([]byte("before open\n")); err == nil {
		t.Fatal("a file output wrote before Open")
	}
	if err := o.Open(); err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write([]byte("two\n")); err != nil { // still the renamed file
		t.Fatal(err)
	}
	if err := o.Open(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write([]byte("three\n")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, rotated); got != "one\ntwo\n" {
		t.Errorf("rotated file holds %q, want one and two", got)
	}
	if got := read(t, path); got != "three\n" {
		t.Errorf("new file holds %q, want three", got)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %v (%v), want 0640", st.Mode(), err)
	}
}

func TestOutputReopenFailureKeepsWriting(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "access.log")
	o := NewOutput(path, nil, nil)
	if err := o.Open(); err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := os.Rename(sub, sub+".old"); err != nil { // the folder is gone
		t.Fatal(err)
	}
	if err := o.Open(); err == nil {
		t.Fatal("Open succeeded in a folder that is gone")
	}
	if _, err := o.Write([]byte("kept\n")); err != nil {
		t.Fatalf("after a failed reopen, writes fail: %v", err)
	}
	if got := read(t, filepath.Join(sub+".old", "access.log")); got != "kept\n" {
		t.Errorf("old file holds %q", got)
	}
}

func TestOutputStreams(t *testing.T) {
	var out, errs bytes.Buffer
	for _, tc := range []struct {
		dest string
		want *bytes.Buffer
	}{{"", &errs}, {"stderr", &errs}, {"stdout", &out}} {
		out.Reset()
		errs.Reset()
		o := NewOutput(tc.dest, &out, &errs)
		if err := o.Open(); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		if tc.want.String() != "x\n" || out.Len()+errs.Len() != 2 {
			t.Errorf("dest %q: stdout %q stderr %q", tc.dest, out.String(), errs.String())
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
