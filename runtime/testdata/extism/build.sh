#!/bin/sh
# Builds the Extism test plugins with the AssemblyScript compiler and packages that
# examples/crm-assemblyscript installs (`make as-plugins` runs `npm ci` there first):
# plugin.wasm from plugin.ts (Extism's kernel functions only) and kitchen/plugin.wasm from
# kitchen.ts (Ferry's AssemblyScript wrapper).
set -eu
cd "$(dirname "$0")"
modules=../../../examples/crm-assemblyscript/node_modules
asc=$modules/.bin/asc
[ -x "$asc" ] || { echo "$asc is missing: run npm ci in examples/crm-assemblyscript" >&2; exit 1; }
"$asc" plugin.ts --outFile plugin.wasm --optimizeLevel 2 --runtime incremental --use abort=plugin/testAbort
mkdir -p kitchen
"$asc" kitchen.ts --outFile kitchen/plugin.wasm --optimizeLevel 2 --runtime incremental --path "$modules" \
	--use abort=~lib/@ferrysync/ferry-as/index/abort
