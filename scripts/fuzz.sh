#!/usr/bin/env bash
# Build the libFuzzer targets with clang (build-fuzz, ASan+UBSan) and run each fuzz_* binary for
# FUZZ_SECONDS (default 20) on a scratch copy of its seed corpus <dir>/corpus/<name>/ (the
# checked-in corpus is never modified). Crash/leak/timeout inputs go to build-fuzz/artifacts/<name>/.
#   scripts/fuzz.sh [--results FILE]   FILE gets one line per target: "PASS name" / "FAIL name"
#                                      (a failed build is "FAIL build-fuzz").
# Exit status: 0 when every target passed (also when there are none yet), 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

results=/dev/null
if [ "${1:-}" = --results ]; then
	results=${2:?--results needs a file}
fi
: >"$results"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
dir=build-fuzz

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# fuzzer-no-link on every file: rgcore gets coverage instrumentation, not just the fuzz_*.c files.
if ! CC=clang scripts/build.sh "$dir" -Dfuzzers=true -Dbuildtype=debugoptimized \
	-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link; then
	echo "fuzz: FAIL building $dir"
	echo "FAIL build-fuzz" >>"$results"
	exit 1
fi

shopt -s nullglob
failed=0
count=0
# targets live next to their library (tests/fuzz/, dtls/tests/fuzz/, ...); each seed corpus is
# <source dir of the target>/corpus/<name>/
for bin in "$dir"/tests/fuzz/fuzz_* "$dir"/*/tests/fuzz/fuzz_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
	name=${bin##*/fuzz_}
	rel=${bin#"$dir"/}
	corpus="${rel%/*}/corpus/$name"
	count=$((count + 1))
	work=$(mktemp -d "${TMPDIR:-/tmp}/rg-fuzz-$name.XXXXXX")
	if [ -d "$corpus" ]; then
		cp -R "$corpus/." "$work/"
	else
		echo "fuzz: note: no seed corpus $corpus/"
	fi
	art="$dir/artifacts/$name"
	mkdir -p "$art"
	log="$dir/fuzz_$name.log"
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work" >"$log" 2>&1 </dev/null
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz: PASS fuzz_$name (${runs:-?} runs in ${FUZZ_SECONDS}s)"
		echo "PASS fuzz_$name" >>"$results"
	else
		failed=$((failed + 1))
		echo "fuzz: FAIL fuzz_$name (exit $rc); last lines of $log:"
		tail -40 "$log" | sed 's/^/    /'
		echo "    reproduce: $bin $art/<crash-file>"
		echo "FAIL fuzz_$name" >>"$results"
	fi
	rm -rf "$work"
done
echo "fuzz: $count target(s), $failed failing"
[ $failed -eq 0 ]
