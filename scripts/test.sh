#!/usr/bin/env bash
# The test command (`make test`): installs what the tests need on a fresh
# machine, then runs the whole suite with the race detector. A test that
# would skip for a missing tool fails here instead, and any skipped test
# fails the run: what was not run was not tested.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

# Debian packages the tests run for real, by the command they provide:
# curl, bash and sed run the quickstart's printed lines; python3 and node run
# Python and Node.js functions; podman builds the image; nginx fronts the
# rolling-restart test and asks the decision API (auth_request); kubectl
# checks the Kubernetes manifests; chromium loads the CORS test's pages
# (internal/gateway/cors_browser_test.go);
# redis-server backs the shared-state tests (Redis, Sentinel and Cluster modes).
declare -A packages=(
  [curl]=curl [bash]=bash [sed]=sed [python3]=python3 [node]=nodejs
  [podman]=podman [nginx]=nginx [kubectl]=kubernetes-client [chromium]=chromium
  [redis-server]=redis-server
)
# Python modules the examples import, for /usr/bin/python3.
declare -A modules=([jwt]=python3-jwt [cryptography]=python3-cryptography)
missing=()
for tool in "${!packages[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${packages[$tool]}")
done
for module in "${!modules[@]}"; do
  /usr/bin/python3 -c "import $module" 2>/dev/null || missing+=("${modules[$module]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "the tests need these Debian packages: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go tools the tests use, built from the Go module proxy outside this module
# and kept between runs.
tools="${PORTCULLIS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-test-tools}"
mkdir -p "$tools"
# The Lambda Runtime Interface Emulator, for the `invoke` runtime's tests.
if [ ! -x "$tools/aws-lambda-rie" ]; then
  GOBIN="$tools" go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
fi
if [ ! -x "$tools/gotestsum" ]; then
  GOBIN="$tools" go install gotest.tools/gotestsum@v1.13.0
fi
export PORTCULLIS_RIE="$tools/aws-lambda-rie"
export PORTCULLIS_REQUIRE_TOOLS=1

events="$(mktemp)"
trap 'rm -f "$events"' EXIT
status=0
"$tools/gotestsum" --format pkgname --jsonfile "$events" -- -race -timeout 20m "${@:-./...}" || status=$?

# A skipped test is a failure here (see the header).
skipped=$(grep '"Action":"skip"' "$events" | grep '"Test":' | sed -E 's/.*"Package":"([^"]+)".*"Test":"([^"]+)".*/\1 \2/' || true)
if [ -n "$skipped" ]; then
  echo "SKIPPED TESTS (a skip fails the run; install what they need or fix them):"
  echo "$skipped"
  [ $status -ne 0 ] || status=1
fi
exit $status
