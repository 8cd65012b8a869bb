#!/bin/sh
# Builds plugin.wasm from assembly/. Installs the npm packages first if they are missing
# (`npm ci`, from package-lock.json).
set -eu
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx --no-install asc assembly/index.ts \
	--outFile plugin.wasm \
	--optimizeLevel 3 --shrinkLevel 0 \
	--runtime incremental \
	--use abort=~lib/@ferrysync/ferry-as/index/abort
