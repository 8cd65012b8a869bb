// Package webhooks tells the app what changed: after a run, Ferry POSTs one signed event per
// model the run changed (sync.completed), or one for the run if it failed (sync.failed), to
// the webhook URL the app set with PUT /v1/webhook.
//
// Events become deliveries in the store's outbox in the same transaction that records the run
// as finished (storage.DB.FinishRun), so a crash can lose neither. The Sender then delivers
// the outbox: each delivery is POSTed until the app answers 2xx, retried with exponential
// backoff and jitter (1s, 2s, 4s... up to an hour between attempts) for 25 hours after it was
// queued, then marked failed. Deliveries wait while no webhook is set, and a restarted server
// picks up where the last one stopped. Delivery is at least once: the app may receive a
// delivery more than once, always with the same X-Ferry-Delivery id.
//
// # The request
//
//	POST <webhook url>
//	Content-Type: application/json
//	X-Ferry-Event: sync.completed
//	X-Ferry-Delivery: 0193a5c4-7e1f-7c3a-9d2b-4f6e8a1b2c3d
//	X-Ferry-Signature: sha256=5d41402abc4b2a76b9719d911017c592...
//
//	{"type":"sync.completed","integration":"crm","connection":"acme","sync":"contacts",
//	 "model":"Contact","run_id":"0193a5c4-...","sync_type":"incremental",
//	 "added":12,"updated":3,"deleted":1,"cursor_from":"2513"}
//
// A sync.failed body has no model, counts or cursor, and carries "error" instead. The app
// reads the records a sync.completed announces with GET /v1/records?cursor=<cursor_from>.
// Redirects are not followed, and an attempt that takes over 10 seconds counts as failed:
// answer quickly, and do slow work after answering.
//
// # Verifying a delivery
//
// X-Ferry-Signature is "sha256=" followed by the hex HMAC-SHA256 of the raw request body
// under the webhook's secret. An app must compute it over the body exactly as received,
// before parsing it, compare in constant time, and refuse the request when they differ. An
// app written in Go can call Verify:
//
//	func handle(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//		if err != nil || !webhooks.Verify(secret, body, r.Header.Get("X-Ferry-Signature")) {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		if seen(r.Header.Get("X-Ferry-Delivery")) { // a retry of one already processed
//			w.WriteHeader(http.StatusNoContent)
//			return
//		}
//		var e webhooks.Event
//		json.Unmarshal(body, &e) // then act on e.Type, e.Model, e.CursorFrom...
//		w.WriteHeader(http.StatusNoContent)
//	}
//
// In another language: hex(hmac_sha256(secret, body)) == header minus "sha256=", with the
// language's constant-time comparison (Python's hmac.compare_digest, Node's
// crypto.timingSafeEqual).
package webhooks
