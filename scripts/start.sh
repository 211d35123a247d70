#!/usr/bin/env bash
# Sets everything up on a machine that has Node 20 and npm, builds the `flow` command, then
# serves the directory this was started from over 9P on 127.0.0.1:5640 until Ctrl-C.
# Usage: scripts/start.sh [directory]   (default: the current directory)
set -euo pipefail
# `npm start` runs this from the repository root; npm keeps the user's directory in INIT_CWD.
dir="${1:-${INIT_CWD:-$PWD}}"
if [ ! -d "$dir" ]; then
  echo "start: '$dir' is not a directory" >&2
  exit 2
fi
dir="$(cd "$dir" && pwd)"
cd "$(dirname "$0")/.."

export TURBO_TELEMETRY_DISABLED=1
[ -f /usr/include/node/node.h ] && export npm_config_nodedir=/usr

# pnpm 10.34.9 is the last release that runs on Node 20; prefer a global install, else npx.
if ! { command -v pnpm >/dev/null 2>&1 && pnpm --version 2>/dev/null | grep -q '^10\.34\.9$'; }; then
  npm i -g pnpm@10.34.9 >/dev/null 2>&1 || true
fi
if command -v pnpm >/dev/null 2>&1 && pnpm --version 2>/dev/null | grep -q '^10\.34\.9$'; then
  PNPM=(pnpm)
else
  PNPM=(npx -y pnpm@10.34.9)
fi

echo "start: installing the workspace" >&2
"${PNPM[@]}" install --frozen-lockfile
echo "start: building the flow command" >&2
"${PNPM[@]}" exec turbo run build --filter=@flow/cli... --output-logs=errors-only

echo "start: serving $dir over 9P on 127.0.0.1:5640 (Ctrl-C stops)" >&2
exec node packages/cli/bin/flow.js 9p serve "$dir" --listen tcp://127.0.0.1:5640
