#!/usr/bin/env bash
# Configure (or reconfigure) and compile one meson build dir.
#   scripts/build.sh DIR [meson setup options...]
# Always reconfigures: gateway/meson.build picks source files with fs.exists(), which meson does
# not re-check by itself. A dir that cannot be reconfigured (other compiler, broken) is wiped.
# Honours CC for a fresh dir. Run from anywhere; paths are relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:?usage: $0 DIR [meson options...]}
shift

if [ -f "$dir/meson-private/coredata.dat" ]; then
	if ! meson setup --reconfigure "$dir" "$@" >"$dir/setup.log" 2>&1; then
		echo "build: reconfiguring $dir failed, wiping it" >&2
		tail -20 "$dir/setup.log" >&2 || true
		meson setup --wipe "$dir" "$@"
	fi
else
	rm -rf "$dir"
	meson setup "$dir" "$@"
fi
meson compile -C "$dir"
