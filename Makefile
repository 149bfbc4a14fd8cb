# `make test` is the test command: it installs what the tests need (Debian
# packages, the Lambda Runtime Interface Emulator), then runs the whole suite
# with the race detector; a skipped test fails it. See scripts/test.sh.
#
# Benchmarks: see docs/benchmarks.md. Needs nginx, wrk and taskset
# (apt-get install -y nginx wrk); perf is used for profiles when present.
.PHONY: test lint bench bench-quick build image

# A release build: static (CGO_ENABLED=0, runs on scratch), with the
# version, commit and date `portcullis version` and portcullis_build_info
# report. Override VERSION for a release: make build VERSION=v1.2.0
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
OUT ?= bin/portcullis
BUILDINFO = github.com/portcullis/portcullis/internal/buildinfo
LDFLAGS = -s -w -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Commit=$(COMMIT) -X $(BUILDINFO).Date=$(DATE)

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

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT) ./cmd/portcullis

# The container image (Containerfile): the static binary on scratch. Uses
# podman when installed, else docker; docker format keeps the HEALTHCHECK.
IMAGE ?= portcullis:$(VERSION)
ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
image:
	$(MAKE) build OUT=bin/image/portcullis
	cp $(CA_CERTS) bin/image/ca-certificates.crt
	$(ENGINE) build $(if $(filter podman,$(notdir $(ENGINE))),--format docker) -f Containerfile -t $(IMAGE) .
