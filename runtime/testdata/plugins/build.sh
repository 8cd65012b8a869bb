#!/bin/sh
# Builds every test plugin to <dir>/plugin.wasm.
set -e
cd "$(dirname "$0")"
for dir in */; do
	dir=${dir%/}
	[ -f "$dir/ferry.yaml" ] || continue
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$dir/plugin.wasm" "./$dir"
done
