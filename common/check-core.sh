#!/bin/sh
# The core library's objects may ask for libc, libm and jansson symbols
# only. Lists every symbol of another library they leave undefined, and
# exits 1 when there is one.
#   check-core.sh libonotify_core.a
set -eu
lib=$1
[ -f "$lib" ] || {
	echo "check-core: no such library '$lib'" >&2
	exit 2
}
bad=$(nm -u "$lib" | awk '{print $NF}' |
	grep -E '^(zmq_|curl_|config_|sqlite3_|sodium_|crypto_|randombytes_|sd_|MHD_)' |
	sort -u || true)
if [ -n "$bad" ]; then
	echo "check-core: $lib calls outside the core:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-core: $lib links jansson and libc only"
