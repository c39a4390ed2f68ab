#!/usr/bin/env bash
# Install what rtpgate needs to build and test, on Debian 12. Idempotent: asks dpkg first and runs
# apt-get (update + install) only when something is missing. Runs as root (CI) or through sudo.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --build    build dependencies only
#   scripts/install-deps.sh --check    list what is missing, install nothing (exit 1 if any)
#   scripts/install-deps.sh --bench    build dependencies + rtpengine-daemon for make bench
set -euo pipefail

# Compiler and build system. clang + libclang-rt-14-dev: libFuzzer targets and sanitizers with clang.
BUILD_DEPS=(
	gcc
	make
	meson
	ninja-build
	pkg-config
	libglib2.0-dev
	clang
	libclang-rt-14-dev
)

# Libraries: ICE (libnice), DTLS-SRTP (OpenSSL 3, libsrtp2), codecs/ (Opus, spandsp for G.711/G.722/
# PLC/DTMF, opencore AMR-NB/AMR-WB decoding, vo-amrwbenc AMR-WB encoding, bcg729 G.729).
LIB_DEPS=(
	libnice-dev
	libsrtp2-dev
	libssl-dev
	libopus-dev
	libspandsp-dev
	libopencore-amrnb-dev
	libopencore-amrwb-dev
	libvo-amrwbenc-dev
	libbcg729-dev
)

# Integration tests: a real Kamailio and SIPp against the daemon, packet capture and crafting,
# aiortc and headless Chromium as WebRTC peers.
TEST_DEPS=(
	kamailio
	sip-tester
	tcpdump
	python3
	python3-scapy
	python3-aiortc
	chromium
	procps
	iproute2
	espeak-ng    # speech for the codec tests (codecs/tests/test_codecs.c skips it when missing)
)

# The side-by-side benchmark (make bench): the reference daemon it measures against.
BENCH_DEPS=(
	rtpengine-daemon
)

mode=all
case "${1:-}" in
	--build) mode=build ;;
	--check) mode=check ;;
	--bench) mode=bench ;;
	"") ;;
	*) echo "usage: $0 [--build|--check|--bench]" >&2; exit 2 ;;
esac

want=("${BUILD_DEPS[@]}" "${LIB_DEPS[@]}")
[ "$mode" = build ] || [ "$mode" = bench ] || want+=("${TEST_DEPS[@]}")
[ "$mode" != bench ] || want+=("${BENCH_DEPS[@]}")

missing=()
for p in "${want[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#want[@]} packages present"
	exit 0
fi
if [ "$mode" = check ]; then
	echo "install-deps: missing: ${missing[*]}"
	exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo -n)
	else
		echo "install-deps: not root and no sudo; install as root: ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Keep packages (kamailio) from starting their system services on install: the tests start their
# own instances. Only when no policy-rc.d exists, and removed again afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
	"${SUDO[@]}" chmod 755 "$policy"
	trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
