#!/usr/bin/env bash
# `make test`: dependencies, ASan+UBSan build (build-asan), every meson test (unit + integration),
# then the fuzzers (scripts/fuzz.sh). Always ends with one line "N passed, N failed" counting the
# meson tests (build-asan/meson-logs/testlog.json) plus one per fuzz target, and exits non-zero if
# anything failed (a build that fails counts as one failure).
# Env: FUZZ_SECONDS (default 20), SKIP_FUZZ=1 to leave the fuzzers out, MESON_TEST_ARGS (extra
# args for meson test, e.g. "--suite unit"), TIMEOUT_MULTIPLIER (default 2: sanitizers are slow).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

dir=build-asan
fuzz_results=$(mktemp "${TMPDIR:-/tmp}/rg-fuzz-results.XXXXXX")
trap 'rm -f "$fuzz_results"' EXIT
build_failures=0

if ! scripts/install-deps.sh </dev/null; then
	echo "test: installing dependencies failed" >&2
	build_failures=$((build_failures + 1))
fi

export ASAN_OPTIONS=halt_on_error=1:print_stacktrace=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

rm -f "$dir/meson-logs/testlog.json"
if scripts/build.sh "$dir" -Dbuildtype=debug -Db_sanitize=address,undefined; then
	# shellcheck disable=SC2086
	meson test -C "$dir" --print-errorlogs -t "${TIMEOUT_MULTIPLIER:-2}" ${MESON_TEST_ARGS:-} </dev/null
else
	echo "test: FAIL building $dir" >&2
	build_failures=$((build_failures + 1))
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	scripts/fuzz.sh --results "$fuzz_results"
fi

python3 - "$dir/meson-logs/testlog.json" "$fuzz_results" "$build_failures" <<'PY'
import json, os, sys
log, fuzz, build_failures = sys.argv[1], sys.argv[2], int(sys.argv[3])
passed = failed = skipped = 0
bad = []
if os.path.exists(log):
    with open(log) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                t = json.loads(line)
            except ValueError:
                continue
            r = t.get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
                bad.append("%s (%s)" % (t.get("name", "?"), r))
with open(fuzz) as f:
    for line in f:
        verdict, _, name = line.strip().partition(" ")
        if verdict == "PASS":
            passed += 1
        elif verdict == "FAIL":
            failed += 1
            bad.append(name)
failed += build_failures
if build_failures:
    bad.append("build/deps (%d)" % build_failures)
if bad:
    print("failed: " + ", ".join(bad))
tail = ", %d skipped" % skipped if skipped else ""
print("%d passed, %d failed%s" % (passed, failed, tail))
sys.exit(1 if failed or passed == 0 else 0)
PY
