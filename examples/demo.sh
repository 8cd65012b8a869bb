#!/usr/bin/env bash
# Ferry's demo: the example provider and a Ferry server on loopback with a fresh data dir; the
# example Go plugin deployed; a connection; both syncs run; data changed at the provider; the
# syncs run again; what was added, updated and deleted printed. Everything it starts, it stops.
# Run it with `make demo` (which builds bin/ferry, bin/provider and the plugin first).
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=./bin/ferry
PROVIDER=./bin/provider
for f in "$FERRY" "$PROVIDER" examples/crm-go/plugin.wasm; do
	[ -e "$f" ] || { echo "demo: $f is missing; run 'make build' first" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD... runs CMD in the background and waits for its "listening on URL" line.
start() {
	local name=$1; shift
	"$@" >"$work/$name.out" 2>"$work/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do
		if url=$(grep -o 'listening on http://[^ ]*' "$work/$name.out" 2>/dev/null | head -1); then
			echo "${url#listening on }"
			return
		fi
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: $name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "start the example provider and ferry serve on loopback"
provider_url=$(start provider "$PROVIDER" --addr 127.0.0.1:0 --records 250 --companies 30)
echo "provider: $provider_url"
export FERRY_DATA="$work/data"
export FERRY_URL
FERRY_URL=$(start ferry "$FERRY" serve --addr 127.0.0.1:0)
echo "ferry:    $FERRY_URL (data in $FERRY_DATA)"

step "deploy the example Go plugin"
"$FERRY" deploy examples/crm-go

step "create connection acme (the token is encrypted at rest and never shown to the plugin)"
"$FERRY" connection put crm acme --cred token=demo-token --base-url "$provider_url" \
	--metadata '{"region":"eu"}' >/dev/null
echo "connection crm/acme created"

step "initial syncs"
"$FERRY" sync trigger crm acme contacts --wait
"$FERRY" sync trigger crm acme companies --wait

step "two synced contacts"
"$FERRY" records crm acme Contact --limit 2 2>/dev/null | cut -c1-200

# The cursor of the last change so far: everything after it is what the next syncs change.
cursor=$("$FERRY" records crm acme Contact --all --limit 1000 2>/dev/null | tail -1 | grep -o '"cursor":"[0-9]*"' | cut -d'"' -f4)
ccursor=$("$FERRY" records crm acme Company --all --limit 1000 2>/dev/null | tail -1 | grep -o '"cursor":"[0-9]*"' | cut -d'"' -f4)

step "change data at the provider"
mutate() {
	curl -fsS -X POST -H 'Authorization: Bearer demo-token' -H 'Content-Type: application/json' \
		"$provider_url/admin/mutate" -d "$1"
	echo
}
mutate '{"model":"contacts","add":5,"update":3,"delete":2}'
mutate '{"model":"companies","add":1,"update":2,"delete":1}'

step "sync again"
"$FERRY" sync trigger crm acme contacts --wait
"$FERRY" sync trigger crm acme companies --wait

step "what changed, read by cursor (everything after the last change of the first syncs)"
changes() {
	"$FERRY" records crm acme "$1" --cursor "$2" --all --limit 1000 2>/dev/null |
		sed -E 's/^\{"id":"([^"]*)".*"last_action":"([a-z]*)".*$/\2 \1/' | sort
}
echo "Contact:"; changes Contact "$cursor" | sed 's/^/  /'
echo "Company:"; changes Company "$ccursor" | sed 's/^/  /'

step "an unchanged re-sync changes nothing"
"$FERRY" sync trigger crm acme contacts --full --wait

step "run history"
"$FERRY" runs --limit 5
echo
echo "demo done; stopping the provider and the server"
