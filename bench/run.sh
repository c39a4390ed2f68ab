#!/usr/bin/env bash
# Side-by-side relay benchmark: rtpengine vs rtpgate, plain RTP and SRTP->RTP.
#
#   bench/run.sh                 # plain at 500 1000 2000 calls, SRTP->RTP too at 500
#   bench/run.sh 200 1000        # chosen loads, plain only
#   bench/run.sh --srtp 200 1000 # chosen loads, plain and SRTP->RTP at each
#   bench/run.sh --transcode [CALLS...]  # Opus<->PCMU transcoding load only (default 20 50 80 120
#                                # 160 calls, 10 s each), plus a bare libopus + G.711 micro-benchmark
#   bench/run.sh --table FILE    # re-print the table from a results.txt
#
# For each load: a no-gateway baseline run of the load generator, then
# rtpengine, then rtpgate (if $RG_BIN exists and answers an NG ping), each
# started fresh with the same options and stopped afterwards. At an SRTP load
# the same three follow with rg-loadgen --srtp (caller SDES-SRTP, callee plain
# RTP/AVP), labelled baseline-srtp, rtpengine-srtp, rtpgate-srtp; the table then
# gives rtpgate's SRTP cost per packet against its own plain relay of the same
# command and against rtpengine's SRTP.
#
# Environment (all optional):
#   BUILD_DIR=build                meson build dir the two defaults below are taken from
#   RG_BIN=$BUILD_DIR/gateway/rtpgate   rtpgate binary
#   RTPENGINE_BIN=/usr/bin/rtpengine
#   LOADGEN=path                   prebuilt rg-loadgen (default: $BUILD_DIR/bench/rg-loadgen
#                                  if newer than bench/loadgen.c, else compiled with cc)
#   SRTP_LOADS="500"               loads that also get the SRTP runs (default: all with
#                                  --srtp, 500 without arguments, none otherwise; 1000 SRTP
#                                  calls saturate a 2-core box with the generator on it)
#   SKIP_PLAIN=1                   at SRTP loads, skip the plain runs (no plain ratio then)
#   CODEC_BENCH_S=20               --transcode: seconds of audio per direction in the micro-benchmark
#   CODEC_PACED_S=5                --transcode: seconds of the paced micro-benchmark after each load
#   DURATION=20 WARMUP=1 PPS=50 SETUP_RATE=200
#   RX_COALESCE_US=1000            see rg-loadgen --rx-coalesce-us: the generator's receiver
#                                  drains its sockets every ~1 ms instead of sleeping on them,
#                                  so a daemon's send does not also pay for waking it (a peer
#                                  across the network would not); 0 = wake on every packet
#   LOADGEN_ARGS="..."             extra rg-loadgen options (word-split), e.g. --max-lag-ms 0
#   NG_PORT=22299 PORT_MIN=30000 PORT_MAX=50000 THREADS=2
#   OUT_DIR=dir                    where logs and raw results go (default: mktemp)
#   SKIP_RTPENGINE=1 / SKIP_RTPGATE=1 / SKIP_BASELINE=1
#   QUIET_PCT=10 QUIET_WAIT=300    before each run, wait (at most QUIET_WAIT s) until other
#                                  processes use <= QUIET_PCT % of the machine (all CPUs)
#   BUSY_PCT=20 RETRY_BUSY=2       repeat a run (up to RETRY_BUSY times) when other processes
#                                  used > BUSY_PCT % of one CPU during it; keep the least disturbed
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2

# print_table RESULTS_FILE: the summary table from RESULT lines
print_table() {
awk '
function get(k,   i, n) {
	for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) return substr($i, n + 1) }
	return ""
}
function num(x, fmt) { return (x == "" || x + 0 < 0) ? "-" : sprintf(fmt, x) }
function ratio(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
function abs_(x) { return x == "" ? "-" : sprintf("(%.0f)", x) }
function add_(x, b) { return (x == "" || b == "") ? "-" : sprintf("%+.0f", x - b) }
# added latency p50/p99 of row k over baseline b: from the kernel receive timestamps when both
# have one for every packet (not blurred by receive coalescing), else from the receiver clock
function addlat(k, b) {
	if (kmiss[k] == "0" && kmiss[b] == "0" && k50[k] != "" && k50[b] != "")
		return sprintf("%s/%s", add_(k50[k], k50[b]), add_(k99[k], k99[b]))
	return sprintf("%s/%s", add_(p50[k], p50[b]), add_(p99[k], p99[b]))
}
/^RESULT / {
	k = ++nrow; d = get("label"); c = get("calls")
	lab[k] = d; cl[k] = c; pps[k] = get("offered_pps"); fwd[k] = get("fwd_pps")
	cpu[k] = get("cpu_us_per_pkt"); loss[k] = get("loss_pct")
	p50[k] = get("lat_p50_us"); p99[k] = get("lat_p99_us")
	k50[k] = get("klat_p50_us"); k99[k] = get("klat_p99_us"); own[k] = get("pid_owns_ng")
	kmiss[k] = get("klat_missing")
	kib[k] = get("kib_per_call"); gwc[k] = get("gw_cpu_pct"); gen[k] = get("gen_cpu_pct")
	ok[k] = get("calls_ok"); cons[k] = get("consistent")
	oth[k] = get("other_cpu_pct"); late[k] = get("gen_tx_late_pct")
	skip[k] = get("gen_skipped_pct")
	srtp[k] = get("srtp") == 1; sfail[k] = get("srtp_fail") + get("srtp_protect_fail")
	tc[k] = get("transcode") == 1; tcbad[k] = get("tc_bad_pt") + get("tc_bad_size") + get("bad") + get("misrouted")
	tcshort[k] = get("tc_short_per_stream"); ahead[k] = get("tc_ahead"); aend[k] = get("tc_after_end")
	if (tc[k]) srtp[k] = 2   # mode 2: transcoding, compared with its own baseline
	if (d ~ /^baseline/) base[srtp[k], c] = k # latest baseline for this load and mode
	# an SRTP row is compared with the SRTP baseline (same crypto in the generator), else the plain one
	bref[k] = ((srtp[k], c) in base) ? base[srtp[k], c] : (((0, c) in base) ? base[0, c] : 0)
	bmix[k] = srtp[k] && !((srtp[k], c) in base)
	last[d, c] = k
	if (!(c in seen)) { seen[c] = 1; loads[++nl] = c }
}
/^CODEC .*label=codec-bench-paced / { paced[get("states")] = get("mean_us_per_pkt"); wake[get("states")] = get("wake_us"); next }
/^CODEC / { cb_line = $0; cb_mean = get("mean_us_per_pkt"); cb_o2p = get("opus_to_pcmu_us"); cb_p2o = get("pcmu_to_opus_us") }
END {
	printf "%-14s %6s %7s %8s %10s %8s %9s %9s %8s %8s %9s %8s %8s %s\n", "daemon", "calls", "pps", "fwd pps", "CPU us/pkt", "loss %", \
		"p50 +us", "p99 +us", "kp50 +us", "kp99 +us", "KiB/call", "gw CPU%", "gen CPU%", "notes"
	for (k = 1; k <= nrow; k++) {
		c = cl[k]; b = bref[k]
		note = ""
		if (ok[k] != c) note = note "calls_ok=" ok[k] " "
		if (cons[k] != 1) note = note "INCONSISTENT "
		if (own[k] == "0") note = note "WRONG-PID "
		if (oth[k] + 0 > busy) note = note sprintf("BUSY(others %.0f%%) ", oth[k])
		if (skip[k] + 0 > 0) note = note sprintf("GEN-SKIPPED(%.2f%%) ", skip[k])
		if (late[k] + 0 > 1) note = note sprintf("GEN-LATE(%.1f%%) ", late[k])
		if (sfail[k] + 0 > 0) note = note sprintf("SRTP-FAIL(%d) ", sfail[k])
		if (tc[k] && tcbad[k] + 0 > 0) note = note sprintf("TC-BAD(%d) ", tcbad[k])
		if (tc[k] && ahead[k] + 0 > 0) note = note sprintf("TC-AHEAD(%d) ", ahead[k])
		if (tc[k] && aend[k] + 0 > 0) note = note sprintf("after-end=%d ", aend[k])
		if (tc[k] && tcshort[k] + 0 > 0.005) note = note sprintf("held/stream=%.2f ", tcshort[k])
		if (lab[k] ~ /^baseline/ || !b) {
			l50 = abs_(p50[k]); l99 = abs_(p99[k]); q50 = abs_(k50[k]); q99 = abs_(k99[k])
			note = note (lab[k] ~ /^baseline/ ? "absolute latency in ()" : "no baseline: absolute latency in ()")
		} else {
			l50 = add_(p50[k], p50[b]); l99 = add_(p99[k], p99[b]); q50 = add_(k50[k], k50[b]); q99 = add_(k99[k], k99[b])
			if (bmix[k]) note = note "vs plain baseline "
		}
		printf "%-14s %6s %7s %8s %10s %8s %9s %9s %8s %8s %9s %8s %8s %s\n", lab[k], c, pps[k], fwd[k], num(cpu[k], "%.2f"), \
			num(loss[k], "%.3f"), l50, l99, q50, q99, num(kib[k], "%.1f"), num(gwc[k], "%.0f"), num(gen[k], "%.0f"), note
	}
	print ""
	for (i = 1; i <= nl; i++) {
		c = loads[i]; e = last["rtpengine", c]; g = last["rtpgate", c]
		if (!e && !g && (last["rtpgate-tc", c] || last["rtpengine-tc", c])) continue   # transcoding only
		if (e && g && cpu[e] > 0 && cpu[g] > 0)
			printf "ratio rtpgate/rtpengine CPU per packet at %s calls: %.2f\n", c, cpu[g] / cpu[e]
		else
			printf "ratio rtpgate/rtpengine CPU per packet at %s calls: n/a (missing run)\n", c
	}
	nt = 0
	for (i = 1; i <= nl; i++) if (last["rtpgate-tc", loads[i]] || last["rtpengine-tc", loads[i]]) nt++
	if (nt) {
		print ""
		print "Opus<->PCMU transcoding (caller Opus only, codec-strip-all codec-transcode-PCMU), per transcoded packet:"
		if (cb_line != "") {
			printf "bare libopus + G.711 (micro-benchmark, one thread): Opus->PCMU %.1f us, PCMU->Opus %.1f us, mean %.1f us/pkt\n", cb_o2p, cb_p2o, cb_mean
		}
		print "paced: the same codec work one packet at a time, at the packet rate one worker sees at that load"
		print "wake: CPU of the sleep and wake-up between two packets in the paced loop (not in paced)"
		print "p50/p99 +us: added latency over the baseline, from kernel receive timestamps where every packet has one"
		printf "%6s %13s %9s %7s %7s %6s %8s %16s %13s %9s %7s %8s %16s %12s\n", "calls", "rtpgate us", "/bare", "paced", "/paced", "wake", "loss %", "p50/p99 +us", \
			"rtpengine us", "/bare", "/paced", "loss %", "p50/p99 +us", "gate/engine"
		for (i = 1; i <= nl; i++) {
			c = loads[i]; g = last["rtpgate-tc", c]; e = last["rtpengine-tc", c]; b = base[2, c]
			if (!g && !e) continue
			gl = g && b ? addlat(g, b) : "-"
			el = e && b ? addlat(e, b) : "-"
			pc = (c in paced) ? paced[c] + 0 : 0
			printf "%6s %13s %9s %7s %7s %6s %8s %16s %13s %9s %7s %8s %16s %12s\n", c, num(g ? cpu[g] : "", "%.1f"), \
				(g && cb_mean > 0) ? sprintf("%.2f", cpu[g] / cb_mean) : "-", pc ? sprintf("%.1f", pc) : "-", \
				(g && pc > 0) ? sprintf("%.2f", cpu[g] / pc) : "-", (c in wake) ? sprintf("%.1f", wake[c]) : "-", \
				num(g ? loss[g] : "", "%.3f"), gl, \
				num(e ? cpu[e] : "", "%.1f"), (e && cb_mean > 0) ? sprintf("%.2f", cpu[e] / cb_mean) : "-", \
				(e && pc > 0) ? sprintf("%.2f", cpu[e] / pc) : "-", num(e ? loss[e] : "", "%.3f"), el, ratio(cpu[g], cpu[e])
		}
		# highest load with loss < 0.1 %, all calls up, the offered load really sent
		split("rtpgate-tc rtpengine-tc", dn, " ")
		for (j = 1; j <= 2; j++) {
			best[j] = 0
			for (i = 1; i <= nl; i++) {
				c = loads[i]; k = last[dn[j], c]
				if (k && ok[k] == c && loss[k] + 0 < 0.1 && skip[k] + 0 == 0 && tcbad[k] + 0 == 0 && c + 0 > best[j]) best[j] = c + 0
			}
			printf "%s: most transcoded calls with loss < 0.1 %% (of the loads run): %s\n", dn[j], best[j] ? best[j] : "none"
		}
		if (best[1] && best[2]) printf "rtpgate/rtpengine transcoded calls: %.2f (target >= 2, moonshot 3)\n", best[1] / best[2]
	}
	ns = 0
	for (i = 1; i <= nl; i++) if (last["rtpgate-srtp", loads[i]] || last["rtpengine-srtp", loads[i]]) ns++
	if (!ns) exit
	print ""
	print "SRTP->RTP (caller SDES-SRTP AES_CM_128_HMAC_SHA1_80, callee plain RTP), CPU us per forwarded packet:"
	printf "%6s %14s %13s %16s %16s %15s %16s %14s\n", "calls", "rtpgate plain", "rtpgate SRTP", \
		"SRTP/plain<=1.5", "rtpengine plain", "rtpengine SRTP", "SRTP/plain", "gate/engine<1"
	for (i = 1; i <= nl; i++) {
		c = loads[i]; gp = last["rtpgate", c]; gs = last["rtpgate-srtp", c]
		ep = last["rtpengine", c]; es = last["rtpengine-srtp", c]
		if (!gs && !es) continue
		r1 = ratio(cpu[gs], cpu[gp]); r3 = ratio(cpu[gs], cpu[es])
		printf "%6s %14s %13s %16s %16s %15s %16s %14s\n", c, num(gp ? cpu[gp] : "", "%.2f"), \
			num(gs ? cpu[gs] : "", "%.2f"), r1 (r1 == "-" ? "" : (r1 + 0 <= 1.5 ? " met" : " NOT met")), \
			num(ep ? cpu[ep] : "", "%.2f"), num(es ? cpu[es] : "", "%.2f"), ratio(cpu[es], cpu[ep]), \
			r3 (r3 == "-" ? "" : (r3 + 0 < 1 ? " met" : " NOT met"))
	}
}' busy="${BUSY_PCT:-20}" "$1"
}

# bench/run.sh --table results.txt : re-print the table of an earlier run
if [ "${1:-}" = --table ]; then
	[ -r "${2:-}" ] || { echo "usage: bench/run.sh --table RESULTS_FILE" >&2; exit 2; }
	print_table "$2"
	exit 0
fi

srtp_all=0 tc_only=0
if [ "${1:-}" = --srtp ]; then srtp_all=1; shift; fi
if [ "${1:-}" = --transcode ]; then tc_only=1; shift; DURATION=${DURATION:-10}; fi
if [ "$tc_only" = 1 ]; then
	if [ $# -gt 0 ]; then LOADS=("$@"); else LOADS=(20 50 80 120 160); fi
	default_srtp=
elif [ $# -gt 0 ]; then
	LOADS=("$@")
	if [ "$srtp_all" = 1 ]; then default_srtp="$*"; else default_srtp=; fi
else
	LOADS=(500 1000 2000)
	if [ "$srtp_all" = 1 ]; then default_srtp="${LOADS[*]}"; else default_srtp=500; fi
fi
read -r -a SRTP_LOADS <<<"${SRTP_LOADS-$default_srtp}"
for n in "${LOADS[@]}" "${SRTP_LOADS[@]}"; do
	case $n in ''|*[!0-9]*) echo "run.sh: load '$n' is not a number of calls (usage: run.sh [--srtp] [CALLS...])" >&2; exit 2;; esac
done
for n in "${SRTP_LOADS[@]}"; do
	case " ${LOADS[*]} " in *" $n "*) ;; *) echo "run.sh: warning: SRTP load $n is not among the loads (${LOADS[*]}): not run" >&2;; esac
done
# is_srtp_load N: does load N get the SRTP runs too?
is_srtp_load() {
	local x
	for x in "${SRTP_LOADS[@]}"; do [ "$x" = "$1" ] && return 0; done
	return 1
}

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-1}
PPS=${PPS:-50}
SETUP_RATE=${SETUP_RATE:-200}
NG_PORT=${NG_PORT:-22299}
PORT_MIN=${PORT_MIN:-30000}
PORT_MAX=${PORT_MAX:-50000}
THREADS=${THREADS:-2}
QUIET_PCT=${QUIET_PCT:-10}
QUIET_WAIT=${QUIET_WAIT:-300}
BUSY_PCT=${BUSY_PCT:-20}
RX_COALESCE_US=${RX_COALESCE_US:-1000}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
RETRY_BUSY=${RETRY_BUSY:-2}
RTPENGINE_BIN=${RTPENGINE_BIN:-/usr/bin/rtpengine}
BUILD_DIR=${BUILD_DIR:-build}
RG_BIN=${RG_BIN:-$BUILD_DIR/gateway/rtpgate}
OUT=${OUT_DIR:-$(mktemp -d /tmp/rg-bench.XXXXXX)}
mkdir -p "$OUT" || exit 2
RESULTS=$OUT/results.txt
: >"$RESULTS"

# ---- file descriptors: rtpengine needs ~4 sockets per call, the generator 2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
max_load=0
for n in "${LOADS[@]}"; do [ "$n" -gt "$max_load" ] && max_load=$n; done
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((max_load * 4 + 1024)) ]; then
	echo "run.sh: warning: ulimit -n is $nofile, below the ~$((max_load * 4 + 1024)) needed for $max_load calls" >&2
fi

# ---- load generator binary
if [ -z "${LOADGEN:-}" ]; then
	if [ -x "$BUILD_DIR/bench/rg-loadgen" ] && [ "$BUILD_DIR/bench/rg-loadgen" -nt bench/loadgen.c ]; then
		LOADGEN=$BUILD_DIR/bench/rg-loadgen
	else
		LOADGEN=$OUT/rg-loadgen
		echo "building $LOADGEN from bench/loadgen.c" >&2
		# libsrtp2 (Debian libsrtp2-dev) for --srtp; NSS headers for LOADGEN_NSS (bench/meson.build)
		srtp_flags=$(pkg-config --cflags --libs libsrtp2 2>/dev/null || echo -lsrtp2)
		if nss_flags=$(pkg-config --cflags --libs nss 2>/dev/null); then nss_flags="-DLOADGEN_NSS $nss_flags"; else nss_flags=; fi
		# shellcheck disable=SC2086
		opus_flags=$(pkg-config --cflags --libs opus 2>/dev/null || echo "-I/usr/include/opus -lopus")
		${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -Wall -o "$LOADGEN" bench/loadgen.c -lpthread -lm \
			$srtp_flags $nss_flags $opus_flags || exit 2
	fi
fi
if [ ${#SRTP_LOADS[@]} -gt 0 ] && ! { "$LOADGEN" --help 2>&1 || :; } | grep -q -- --srtp; then
	echo "run.sh: $LOADGEN has no --srtp (built from an older loadgen.c?); rebuild it or set LOADGEN" >&2
	exit 2
fi

# ---- process bookkeeping: everything we start is killed on exit
DPID=
stop_daemon() {
	[ -n "$DPID" ] || return 0
	if kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$DPID" 2>/dev/null; then
			echo "  (pid $DPID did not stop on SIGTERM, sending SIGKILL)" >&2
			kill -KILL "$DPID" 2>/dev/null
		fi
	fi
	wait "$DPID" 2>/dev/null
	DPID=
}
cleanup() { stop_daemon; }
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; cleanup; exit 130' INT TERM

# busy percentage of the whole machine (100 = all CPUs) over 2 s
machine_busy_pct() {
	local a b
	read -r -a a </proc/stat; sleep 2; read -r -a b </proc/stat
	local busy=$(( (b[1]+b[2]+b[3]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[6]+a[7]+a[8]) ))
	local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) ))
	echo $(( busy * 100 / (busy + idle > 0 ? busy + idle : 1) ))
}
# the machine is shared: wait (bounded) until nothing else is burning CPU
wait_quiet() {
	local start=$SECONDS said=-1000 b
	while :; do
		b=$(machine_busy_pct)
		[ "$b" -le "$QUIET_PCT" ] && return 0
		if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
			echo "  warning: machine still ${b}% busy with other processes after ${QUIET_WAIT}s; measuring anyway" >&2
			return 1
		fi
		if [ $((SECONDS - said)) -ge 30 ]; then
			echo "  machine ${b}% busy with other processes (> QUIET_PCT=$QUIET_PCT), waiting up to ${QUIET_WAIT}s" >&2
			said=$SECONDS
		fi
	done
}

ng_ping() { "$LOADGEN" --ng "127.0.0.1:$NG_PORT" --ping >/dev/null 2>&1; }

common_opts=(--foreground --log-stderr --log-level=4 --interface=127.0.0.1
	--listen-ng="127.0.0.1:$NG_PORT" --port-min="$PORT_MIN" --port-max="$PORT_MAX"
	--num-threads="$THREADS" --delete-delay=0)

# start_daemon NAME LOG BIN ARGS... ; sets DPID; returns 1 if it does not answer ping
start_daemon() {
	local name=$1 log=$2; shift 2
	if ng_ping; then
		echo "run.sh: something already answers NG on 127.0.0.1:$NG_PORT; refusing to measure it" >&2
		exit 2
	fi
	"$@" >"$log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do
		sleep 0.1
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "  $name exited at startup; last log lines:" >&2
			tail -5 "$log" | sed 's/^/    /' >&2
			wait "$DPID" 2>/dev/null; DPID=
			return 1
		fi
		ng_ping && return 0
	done
	echo "  $name does not answer NG ping within 10 s" >&2
	stop_daemon
	return 1
}

# run_loadgen NAME CALLS [extra args]; sets LAST_LINE to the RESULT line
# (every attempt is also kept in $OUT/results-all.txt)
LAST_LINE=
run_loadgen() {
	LAST_LINE=
	local name=$1 calls=$2; shift 2
	# bound: setup + deletes at SETUP_RATE, warmup, duration, margin
	local limit
	limit=$(awk -v c="$calls" -v r="$SETUP_RATE" -v d="$DURATION" -v w="$WARMUP" \
		'BEGIN { printf "%d", 2 * c / r + d + w + 60 }')
	local out
	# LOADGEN_ARGS is word-split on purpose
	# shellcheck disable=SC2086
	out=$(timeout --foreground -k 5 "$limit" "$LOADGEN" --calls "$calls" --duration "$DURATION" \
		--warmup "$WARMUP" --pps "$PPS" --setup-rate "$SETUP_RATE" --rx-coalesce-us "$RX_COALESCE_US" \
		--label "$name" --json $LOADGEN_ARGS "$@" \
		2>>"$OUT/loadgen-$name-$calls.err")
	local rc=$?
	if [ "$rc" -eq 130 ]; then
		echo "run.sh: load generator interrupted" >&2
		cleanup
		exit 130
	fi
	local line
	line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
	if [ -z "$line" ]; then
		echo "  $name $calls calls: no result (exit $rc); see $OUT/loadgen-$name-$calls.err" >&2
		tail -3 "$OUT/loadgen-$name-$calls.err" | sed 's/^/    /' >&2
		return 1
	fi
	echo "$line" >>"$OUT/results-all.txt"
	printf '%s\n' "$out" | grep '^{' | tail -1 >>"$OUT/results-all.jsonl"
	LAST_LINE=$line
	echo "  $(printf '%s\n' "$line" | tr ' ' '\n' | grep -E '^(calls_ok|loss_pct|lat_p50_us|lat_p99_us|cpu_us_per_pkt|kib_per_call|gw_cpu_pct|gen_cpu_pct|other_cpu_pct|gen_tx_late_pct|consistent)=' | tr '\n' ' ')"
	[ "$rc" -eq 0 ] || echo "  (loadgen exit status $rc)" >&2
	return 0
}

have_rtpgate=1
if [ -n "${SKIP_RTPGATE:-}" ]; then
	have_rtpgate=0; echo "rtpgate: skipped (SKIP_RTPGATE set)"
elif [ ! -x "$RG_BIN" ]; then
	have_rtpgate=0; echo "rtpgate: skipped ($RG_BIN does not exist or is not executable; set RG_BIN)"
fi
have_rtpengine=1
if [ -n "${SKIP_RTPENGINE:-}" ]; then
	have_rtpengine=0; echo "rtpengine: skipped (SKIP_RTPENGINE set)"
elif [ ! -x "$RTPENGINE_BIN" ]; then
	have_rtpengine=0; echo "rtpengine: skipped ($RTPENGINE_BIN not found)"
fi

result_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# measure NAME CALLS CMD...: one measurement (daemon started fresh unless NAME is
# baseline), repeated up to RETRY_BUSY times when other processes took more than
# BUSY_PCT % CPU during it; the least disturbed attempt goes to $RESULTS.
measure() {
	local name=$1 calls=$2; shift 2
	local attempt=0 best='' best_other='' other
	while :; do
		attempt=$((attempt + 1))
		wait_quiet
		if [ "${name%-*}" = baseline ] || [ "$name" = baseline ]; then
			run_loadgen "$name" "$calls" --baseline "${LG_MODE[@]}"
		else
			if ! start_daemon "$name" "$OUT/$name-$calls.log" "$@"; then
				echo "  $name: skipped for $calls calls (did not start / no pong); log: $OUT/$name-$calls.log"
				return 1
			fi
			run_loadgen "$name" "$calls" --ng "127.0.0.1:$NG_PORT" --pid "$DPID" "${LG_MODE[@]}"
			stop_daemon
		fi
		sleep 1
		[ -n "$LAST_LINE" ] || break
		other=$(result_field "$LAST_LINE" other_cpu_pct); other=${other%.*}
		if [ -z "$best" ] || [ "$other" -lt "$best_other" ]; then best=$LAST_LINE; best_other=$other; fi
		[ "$other" -le "$BUSY_PCT" ] && break
		if [ "$attempt" -gt "$RETRY_BUSY" ]; then
			echo "  other processes took ${best_other}% CPU even in the best attempt; keeping it (flagged BUSY)"
			break
		fi
		echo "  other processes took ${other}% CPU during the run; repeating ($attempt/$RETRY_BUSY)"
	done
	[ -n "$best" ] && echo "$best" >>"$RESULTS"
	return 0
}

# run_set SUFFIX CALLS: baseline, rtpengine, rtpgate at one load; SUFFIX "" (plain) or -srtp
# (rg-loadgen --srtp: caller SDES-SRTP, callee plain RTP/AVP; rtpengine needs no flag beyond
# the offer's transport-protocol RTP/AVP, which the generator sends)
LG_MODE=()
run_set() {
	local sfx=$1 calls=$2 what="plain RTP"
	LG_MODE=()
	if [ "$sfx" = -srtp ]; then LG_MODE=(--srtp); what="SRTP->RTP"; fi
	if [ "$sfx" = -tc ]; then LG_MODE=(--transcode); what="Opus<->PCMU transcoding"; fi
	if [ -z "${SKIP_BASELINE:-}" ]; then
		echo "== baseline$sfx (no gateway, $what), $calls calls"
		measure "baseline$sfx" "$calls"
	fi
	if [ "$have_rtpengine" = 1 ]; then
		echo "== rtpengine$sfx ($what), $calls calls"
		measure "rtpengine$sfx" "$calls" "$RTPENGINE_BIN" --config-file=none --table=-1 "${common_opts[@]}"
	fi
	if [ "$have_rtpgate" = 1 ]; then
		echo "== rtpgate$sfx ($what), $calls calls"
		measure "rtpgate$sfx" "$calls" "$RG_BIN" --config-file=none "${common_opts[@]}"
	fi
}

echo "bench: loads=${LOADS[*]} srtp-loads=${SRTP_LOADS[*]:-none} duration=${DURATION}s pps=$PPS/dir/call threads=$THREADS ports=$PORT_MIN-$PORT_MAX out=$OUT"
if [ "$tc_only" = 1 ]; then
	if ! { "$LOADGEN" --help 2>&1 || :; } | grep -q -- --transcode; then
		echo "run.sh: $LOADGEN has no --transcode (built from an older loadgen.c?); rebuild it or set LOADGEN" >&2
		exit 2
	fi
	# bare libopus + G.711 at rtpgate's Opus<->PCMU settings, one thread, same machine, same run
	codec_bench() {
		wait_quiet
		local line
		line=$("$LOADGEN" --codec-bench "${CODEC_BENCH_S:-20}" --calls 100 | grep '^CODEC ' | tail -1)
		[ -n "$line" ] && { echo "$line" >>"$RESULTS"; echo "  $line"; }
	}
	# the same, one packet at a time at the rate one of the THREADS workers sees at that load
	codec_bench_paced() {
		local calls=$1 line
		wait_quiet
		line=$("$LOADGEN" --codec-bench "${CODEC_PACED_S:-5}" --calls "$calls" \
			--codec-bench-pps $((calls * 2 * PPS / THREADS)) | grep '^CODEC ' | tail -1)
		[ -n "$line" ] && { echo "$line" >>"$RESULTS"; echo "  $line"; }
	}
	echo "== micro-benchmark: bare libopus decode/encode + G.711 per transcoded packet"
	codec_bench
	for calls in "${LOADS[@]}"; do
		run_set -tc "$calls"
		echo "== paced micro-benchmark at $calls calls' packet rate per worker"
		codec_bench_paced "$calls"
	done
	echo "== micro-benchmark again (after the loads)"
	codec_bench
	echo
	print_table "$RESULTS" | tee "$OUT/summary.txt"
	echo
	echo "raw results: $RESULTS   logs: $OUT"
	exit 0
fi
for calls in "${LOADS[@]}"; do
	if is_srtp_load "$calls"; then
		[ -n "${SKIP_PLAIN:-}" ] || run_set "" "$calls"
		run_set -srtp "$calls"
	else
		run_set "" "$calls"
	fi
done

# ---- table
echo
print_table "$RESULTS" | tee "$OUT/summary.txt"
echo
echo "raw results: $RESULTS   logs: $OUT"
