#!/usr/bin/env bash
# Runs every fuzz target in the repository, one after another, for a chosen
# time each, and prints a summary.
#
#   fuzz/run.sh              # 10s per target
#   fuzz/run.sh 30s          # 30s per target (any -fuzztime value: 1m, 50000x)
#   fuzz/run.sh 30s Verify   # only targets whose name matches the regexp
#
# Targets are discovered with `go test -list '^Fuzz'` in every package, so a
# new Fuzz function is picked up without editing this file. A crasher is
# written by Go to PKG/testdata/fuzz/TARGET/ and makes the script exit 1;
# rerun it with `go test -run 'TARGET/NAME' ./PKG`.
#
# Go 1.26's fuzz coordinator can end a duration-limited run with a bare
# "context deadline exceeded" and no crasher (golang/go#75804, fixed in Go
# 1.27). Such a run is reported as "ok (deadline flake)", not as a failure:
# only a written crasher (or any other failure) fails the script.
#
# Environment: GO (default: go on PATH, else /usr/local/go/bin/go),
# FUZZ_PARALLEL (workers per target; default GOMAXPROCS).
set -euo pipefail

fuzztime=${1:-10s}
filter=${2:-.}
cd "$(dirname "$0")/.."

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
parallel=()
if [[ -n ${FUZZ_PARALLEL:-} ]]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-fuzz.XXXXXX")
echo "fuzz: ${fuzztime} per target; logs in ${logdir}"

# Discover: "package target" lines.
targets=()
while read -r pkg; do
	while read -r name; do
		[[ $name == Fuzz* ]] || continue
		[[ $name =~ $filter ]] || continue
		targets+=("$pkg $name")
	done < <("$GO" test -list '^Fuzz' "$pkg" 2>/dev/null || true)
done < <("$GO" list ./...)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no targets match ${filter}" >&2
	exit 2
fi
echo "fuzz: ${#targets[@]} targets"

module=$("$GO" list -m)
results=()
failed=0
for entry in "${targets[@]}"; do
	pkg=${entry% *}
	name=${entry#* }
	dir=$("$GO" list -f '{{.Dir}}' "$pkg")
	corpus="$dir/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null | sort || true)
	short=${pkg#"$module"/}
	log="$logdir/${short//\//_}.$name.log"
	printf 'fuzz: %-22s %-28s ' "$name" "$short"
	status=0
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" >"$log" 2>&1 || status=$?
	after=$(ls "$corpus" 2>/dev/null | sort || true)
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
	interesting=$(grep -o 'new interesting: [0-9]*' "$log" | tail -1 | cut -d' ' -f3 || true)
	if ((status == 0)); then
		result="ok"
	elif [[ "$before" == "$after" ]] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		result="ok (deadline flake)"
	else
		result="FAIL"
		failed=$((failed + 1))
	fi
	echo "$result"
	results+=("$(printf '%-22s %-28s %-20s %12s %6s' "$name" "$short" "$result" "${execs:--}" "${interesting:--}")")
	if [[ $result == FAIL ]]; then
		grep -E 'Failing input written|To re-run|--- FAIL|panic:|\.go:[0-9]+:' "$log" | head -20 | sed 's/^/    /'
	fi
done

echo
printf '%-22s %-28s %-20s %12s %6s\n' target package result execs new
for line in "${results[@]}"; do
	echo "$line"
done
echo
if ((failed > 0)); then
	echo "fuzz: ${failed} of ${#targets[@]} targets FAILED (crashers under each package's testdata/fuzz/; logs in ${logdir})"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
