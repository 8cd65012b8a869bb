#!/usr/bin/env bash
# Ferry's demo: the example provider and a Ferry server on loopback with a fresh data dir; the
# example Go plugin deployed; a connection; both syncs run; data changed at the provider; the
# syncs run again; what was added, updated and deleted printed. Then the round trip of a
# two-way sync: an action creates a contact at the provider, a change made at the provider
# comes back through its webhook into Ferry's cache at once, and the app's webhook receiver is
# told. Everything it starts, it stops.
# Run it with `make demo` (which builds bin/ferry, bin/provider and the plugin first).
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=./bin/ferry
PROVIDER=./bin/provider
RECEIVER=./bin/receiver
for f in "$FERRY" "$PROVIDER" "$RECEIVER" examples/crm-go/plugin.wasm; do
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

# start NAME CMD... runs CMD in the background and waits for its "listening on URL" line,
# leaving the URL in $url. It is not called in $(...): the pid must be kept in this shell's
# pids, for cleanup to stop what the demo started.
start() {
	local name=$1; shift
	"$@" >"$work/$name.out" 2>"$work/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do
		if url=$(grep -o 'listening on http://[^ ]*' "$work/$name.out" 2>/dev/null | head -1); then
			url=${url#listening on }
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
start provider "$PROVIDER" --addr 127.0.0.1:0 --records 250 --companies 30
provider_url=$url
echo "provider: $provider_url"
export FERRY_DATA="$work/data"
export FERRY_URL
start ferry "$FERRY" serve --addr 127.0.0.1:0
FERRY_URL=$url
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

# --- Two-way sync: actions write to the provider, its webhooks bring changes back. ---

# until TRIES CMD... runs CMD every 0.1 s until it succeeds, at most TRIES times.
until_ok() {
	local tries=$1; shift
	for _ in $(seq "$tries"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

step "the provider's webhooks go to Ferry, signed with the connection's webhook secret"
auth='Authorization: Bearer demo-token'
hook_secret=demo-provider-webhook-secret
# The metadata's field_mapping sends the actions' "company" as the provider's "title".
"$FERRY" connection put crm acme --webhook-secret "$hook_secret" \
	--metadata '{"region":"eu","field_mapping":{"company":"title"}}' >/dev/null
curl -fsS -X PUT -H "$auth" "$provider_url/admin/webhook" \
	-d "{\"url\":\"$FERRY_URL/v1/hooks/crm/acme\",\"secret\":\"$hook_secret\"}" >/dev/null
echo "provider webhook -> $FERRY_URL/v1/hooks/crm/acme"

step "the app creates a contact with the create-contact action (find-or-create by email)"
email=mary.jackson@nasa.example
input="{\"email\":\"$email\",\"first_name\":\"Mary\",\"last_name\":\"Jackson\",\"company\":\"NASA Langley\",\"app_id\":\"user-42\"}"
echo "input: $input"
out=$("$FERRY" action crm acme create-contact --input "$input")
echo "$out"
contact_id=$(echo "$out" | grep -o '"id": *"[^"]*"' | cut -d'"' -f4)
echo "again, as a retry would: found by email, nothing written"
"$FERRY" action crm acme create-contact --input "$input"
echo "the data link from the app's id to the provider's:"
"$FERRY" links get crm acme Contact user-42

step "the contact at the provider (company sent as title, by the connection's field mapping)"
curl -fsS -H "$auth" "$provider_url/contacts?email=${email/@/%40}" | cut -c1-220

# The provider told Ferry of the contact it created, and the webhook handler saved it again:
# unchanged, since the action had saved the same contact (had the event come first, the
# action's save would have been the unchanged one). Wait for that before the app listens, so
# what the app hears next is the change below alone.
drained() { curl -fsS -H "$auth" "$provider_url/admin/stats" | grep -q '"webhooks_pending":0'; }
until_ok 100 drained || { echo "demo: the provider's webhook events did not go out" >&2; exit 1; }

step "the app listens for Ferry's webhooks (examples/receiver: it prints each verified event)"
app_secret=demo-app-webhook-secret-0123456789
start receiver "$RECEIVER" --addr 127.0.0.1:0 --secret "$app_secret"
receiver_url=$url
"$FERRY" webhook set "$receiver_url/ferry-hook" --secret "$app_secret" >/dev/null
echo "ferry webhook -> $receiver_url/ferry-hook"

step "someone changes the contact at the provider"
curl -fsS -X PATCH -H "$auth" "$provider_url/contacts/$contact_id" -d '{"title":"Aerospace Engineer"}' | cut -c1-160

step "its webhook brought the change into Ferry's cache at once, no sync needed"
cached() { "$FERRY" records crm acme Contact --ids "$contact_id" 2>/dev/null | grep -q '"Aerospace Engineer"'; }
until_ok 100 cached || { echo "demo: the change did not reach Ferry's cache" >&2; exit 1; }
record=$("$FERRY" records crm acme Contact --ids "$contact_id" 2>/dev/null)
echo "$record" | cut -c1-160
echo "$record" | grep -o '"last_action":"[a-z]*"'

step "and the app was told, once, by a sync.completed of the webhook handler"
told() { grep -q '"sync":"webhook"' "$work/receiver.out"; }
until_ok 100 told || { echo "demo: the app's receiver got no event" >&2; exit 1; }
grep -v 'listening on' "$work/receiver.out" | sed 's/^/  /'
echo "events received: $(grep -vc 'listening on' "$work/receiver.out")"

step "a sync now fetches the contact and finds the cache already current"
"$FERRY" sync trigger crm acme contacts --wait
echo
echo "demo done; stopping the provider and the server"
