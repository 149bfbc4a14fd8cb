package apikey

import (
	"context"
	"testing"
)

// BenchmarkCheck is the stage's cost per request in process: a valid key
// whose plan has a throttle and a quota.
func BenchmarkCheck(b *testing.B) {
	f := writeConfig(b, stageConfig)
	yes := true
	value := "dave-key-0123456789abcdefg"
	if err := Append(keysPath(f), FileEntry{Name: "dave", Hash: Hash(value), Plan: "silver", Enabled: &yes}); err != nil {
		b.Fatal(err)
	}
	f.Config.UsagePlans["silver"].Quota.Limit = 1 << 62
	s, err := Setup(f, memoryDeps(b))
	if err != nil {
		b.Fatal(err)
	}
	s.plans["silver"].hasThrottle, s.plans["silver"].rate, s.plans["silver"].burst = true, 1e12, 1<<30
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Check(ctx, value); v.Status != 0 {
			b.Fatal(v)
		}
	}
}
