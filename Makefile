# rtpgate: convenience entry points. The build itself is meson + ninja (see scripts/).
#   make run     install deps, build build/ (debugoptimized), run in the foreground on loopback
#   make test    ASan+UBSan build (build-asan), all meson tests, then the fuzzers; last line "N passed, N failed"
#   make fuzz    clang libFuzzer build (build-fuzz), each fuzz_* target for FUZZ_SECONDS (default 20)
#   make build   build/ only;  make bench  bench/run.sh;  make clean  remove build, build-asan, build-fuzz
SHELL := /bin/bash
FUZZ_SECONDS ?= 20
export FUZZ_SECONDS

RUN_ARGS ?= --config-file=conf/rtpgate.conf --foreground --log-stderr

.PHONY: all deps build run test fuzz bench clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	scripts/build.sh build -Dbuildtype=debugoptimized

run: build
	build/gateway/rtpgate $(RUN_ARGS)

test:
	scripts/test.sh

fuzz:
	scripts/install-deps.sh --build
	scripts/fuzz.sh

bench: build
	scripts/install-deps.sh --bench
	bash bench/run.sh

clean:
	rm -rf build build-asan build-fuzz
