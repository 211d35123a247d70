#!/usr/bin/env bash
# Sets everything up on a machine that has Node 20 and npm, then builds, type-checks, lints and
# runs every test of every package. CI runs exactly this (after installing the real peers).
set -euo pipefail
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

"${PNPM[@]}" install --frozen-lockfile
# One package's tests at a time: they use real sockets, processes and the machine's cores, and
# each jest run already spreads over the cores by itself.
# --continue: a failing package does not stop the others, so the summary counts every test.
"${PNPM[@]}" exec turbo run build typecheck lint test --output-logs=full --concurrency=1 --continue
