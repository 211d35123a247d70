#!/usr/bin/env bash
# Packs every public package of the workspace as it would be published, into a folder (default:
# ./packs), so that a clone can be installed elsewhere before anything is on the registry:
#   bash scripts/pack.sh && npm install ./packs/flow-core-0.0.0.tgz ./packs/flow-tcp-0.0.0.tgz
# Build first (npm test, or pnpm install && pnpm build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/packs}" && cd "${1:-$root/packs}" && pwd)"
for dir in "$root"/packages/*/; do
  if node -e "process.exit(require('$dir/package.json').private ? 1 : 0)"; then
    (cd "$dir" && pnpm pack --pack-destination "$out" >/dev/null)
  fi
done
ls "$out"/*.tgz
