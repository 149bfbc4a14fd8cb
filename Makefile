# Benchmarks: see docs/benchmarks.md. Needs nginx, wrk and taskset
# (apt-get install -y nginx wrk); perf is used for profiles when present.
.PHONY: bench bench-quick

bench:
	go run ./bench

bench-quick:
	go run ./bench -quick
