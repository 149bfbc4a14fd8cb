# `make test` is the test command: it installs what the tests need (Debian
# packages, the Lambda Runtime Interface Emulator), then runs the whole suite
# with the race detector; a skipped test fails it. See scripts/test.sh.
#
# Benchmarks: see docs/benchmarks.md. Needs nginx, wrk and taskset
# (apt-get install -y nginx wrk); perf is used for profiles when present.
.PHONY: test lint bench bench-quick

test:
	bash scripts/test.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

bench:
	go run ./bench

bench-quick:
	go run ./bench -quick
