#!/bin/sh
# Compile-checks the Windows half of the addon (native/hvsock_win.c) with mingw-w64, as
# test/hyperv-win-source.test.ts does (which also links it and checks constants). Nothing runs:
# this catches type, prototype and warning errors only. Needs the Debian packages
# gcc-mingw-w64-x86-64-posix and mingw-w64-common, and the Node headers.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cc=x86_64-w64-mingw32-gcc
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "$cc is missing: apt-get install -y gcc-mingw-w64-x86-64-posix mingw-w64-common" >&2
  exit 1
fi
headers=${NODE_HEADERS:-$(dirname "$(command -v node)")/../include/node}
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
[ -f "$headers/node_api.h" ] || { echo "no node_api.h found; set NODE_HEADERS" >&2; exit 1; }
exec "$cc" -fsyntax-only -std=c11 -Wall -Wextra -Werror -I"$headers" "$here/native/hvsock_win.c"
