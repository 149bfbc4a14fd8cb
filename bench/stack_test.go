package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/nginxconf"
)

func TestSameRoundRatio(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rps, nginx []float64
		want       float64
		note       string
	}{
		{"median of the rounds' ratios, not ratio of medians", []float64{10, 40, 30}, []float64{20, 50, 100}, 0.5, "; × nginx per round 0.50 / 0.80 / 0.30"},
		{"one round", []float64{10}, []float64{40}, 0.25, ""},
		{"a round without nginx is left out", []float64{10, 20}, []float64{0, 40}, 0.5, ""},
		{"no nginx", []float64{10}, nil, 0, ""},
		{"even count takes the lower middle", []float64{10, 30}, []float64{100, 100}, 0.1, "; × nginx per round 0.10 / 0.30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{}
			if got := sameRoundRatio(r, tc.rps, tc.nginx); got != tc.want {
				t.Errorf("ratio %v, want %v", got, tc.want)
			}
			if r.Note != tc.note {
				t.Errorf("note %q, want %q", r.Note, tc.note)
			}
		})
	}
}

func TestSetWorkerProcesses(t *testing.T) {
	dir := t.TempDir()
	conf, err := nginxconf.Write(dir, 64, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := setWorkerProcesses(conf, 2); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nworker_processes 2;\n") || strings.Contains(string(b), "worker_processes 1;") {
		t.Errorf("worker_processes not set to 2:\n%s", b)
	}
	// A configuration without the line is an error, not a silent 1.
	other := filepath.Join(dir, "other.conf")
	if err := os.WriteFile(other, []byte("daemon off;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setWorkerProcesses(other, 2); err == nil {
		t.Error("no error for a configuration without worker_processes 1")
	}
}

func TestRatioTableOwnWork(t *testing.T) {
	rep := &Report{Results: []*Result{
		{ID: "nginx", Scenario: "nginx", RPS: 100, VsNginx: 1, CPUusPerReq: 20},
		{ID: ownWorkStack, Scenario: "bare", RPS: 50, VsNginx: 0.5, CPUusPerReq: 40},
		{ID: "1.proxy", Scenario: "public", RPS: 40, VsNginx: 0.4, CPUusPerReq: 52.5},
	}}
	table := ratioTable(rep)
	for _, want := range []string{
		"| " + ownWorkStack + " | bare | 50 | 0.50 | 40.0 | 0 |",
		"| 1.proxy | public | 40 | 0.40 | 52.5 | 0 |",
		"own work over its stack: 12.5 µs/request",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("ratio table lacks %q:\n%s", want, table)
		}
	}
	if got := ratioTable(&Report{Results: rep.Results[:1]}); got != "" {
		t.Errorf("nginx alone gives a table:\n%s", got)
	}
}
