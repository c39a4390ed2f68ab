#!/bin/sh
# The codecs/ library must not depend on the gateway: no #include of a gateway/ path or of a header
# that exists in gateway/. Usage: check_includes.sh CODECS_DIR GATEWAY_DIR
dir=$1
gw=$2
bad=0
for f in $(find "$dir" -name '*.[ch]'); do
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case "$inc" in
		*gateway/*) echo "$f: includes $inc"; bad=1; continue ;;
		esac
		base=${inc##*/}
		if [ -e "$gw/$base" ] && [ ! -e "$(dirname "$f")/$inc" ]; then
			echo "$f: includes $inc, a gateway header"
			bad=1
		fi
	done
done
if [ "$bad" -ne 0 ]; then
	echo "codecs/ must not include gateway/ headers"
	exit 1
fi
echo "ok: codecs/ includes no gateway/ header"
