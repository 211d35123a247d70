#!/usr/bin/env bash
# Sets everything up on a machine that has Node 20 and npm, then builds and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
[ -f /usr/include/node/node.h ] && export npm_config_nodedir=/usr
command -v pnpm >/dev/null 2>&1 && pnpm --version | grep -q '^10\.34\.9$' || npm i -g pnpm@10.34.9 >/dev/null 2>&1 || true
if command -v pnpm >/dev/null 2>&1; then PNPM=(pnpm); else PNPM=(npx -y pnpm@10.34.9); fi
"${PNPM[@]}" install --frozen-lockfile
"${PNPM[@]}" exec turbo run build typecheck lint test --output-logs=full --concurrency=1
