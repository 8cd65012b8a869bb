package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrysync/ferry/api"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
)

// webhookServer is the API over a real store and sealer, with only what the webhook routes
// need.
type webhookServer struct {
	*testServer
	db     *storage.DB
	sealer *secrets.Sealer
}

func newWebhookServer(t *testing.T) *webhookServer {
	t.Helper()
	data := t.TempDir()
	db, err := storage.Open(filepath.Join(data, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.LoadOrCreateSealer(data)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(api.Config{APIKey: "test-key", Store: db, Sealer: sealer}))
	t.Cleanup(func() {
		hs.Close()
		db.Close()
	})
	return &webhookServer{testServer: &testServer{Server: hs, key: "test-key", data: data}, db: db, sealer: sealer}
}

const hookSecret = "whsec-9f86d081884c7d659a2feaa0c55ad015"

func TestWebhookRoutesNeedTheKey(t *testing.T) {
	s := newWebhookServer(t)
	for _, r := range []struct{ method, path string }{{"PUT", "/v1/webhook"}, {"GET", "/v1/webhook"}, {"GET", "/v1/webhook/deliveries"}} {
		req, _ := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(`{"url":"https://app.example.com/h","secret":"`+hookSecret+`"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without the key: %d", r.method, r.path, resp.StatusCode)
		}
	}
	if _, err := s.db.WebhookConfig(context.Background()); err == nil {
		t.Error("a PUT without the key set the webhook")
	}
}

func TestPutWebhookRefusals(t *testing.T) {
	s := newWebhookServer(t)
	tests := []struct {
		name, body, message string
	}{
		{"empty body", ``, "url is required"},
		{"no url", `{"secret":"` + hookSecret + `"}`, "url is required"},
		{"relative url", `{"url":"/hooks/ferry","secret":"` + hookSecret + `"}`, "must be an absolute http or https URL"},
		{"no host", `{"url":"https:///hooks","secret":"` + hookSecret + `"}`, "must be an absolute http or https URL"},
		{"another scheme", `{"url":"ftp://app.example.com/h","secret":"` + hookSecret + `"}`, "must be an absolute http or https URL"},
		{"a url that does not parse", `{"url":"http://[::1","secret":"` + hookSecret + `"}`, `url "http://[::1"`},
		{"no secret", `{"url":"https://app.example.com/h"}`, "secret must be at least 16 bytes (got 0)"},
		{"a short secret", `{"url":"https://app.example.com/h","secret":"0123456789abcde"}`, "secret must be at least 16 bytes (got 15)"},
		{"an unknown field", `{"url":"https://app.example.com/h","secret":"` + hookSecret + `","events":["sync.completed"]}`, `unknown field "events"`},
		{"not JSON", `url=https://app.example.com/h`, "request body"},
		{"secret not a string", `{"url":"https://app.example.com/h","secret":12345678901234567890}`, "request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.json(t, "PUT", "/v1/webhook", tt.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", status, body)
			}
			code, msg := apiError(t, body)
			if code != "invalid_request" || !strings.Contains(msg, tt.message) {
				t.Errorf("error %s %q, want invalid_request containing %q", code, msg, tt.message)
			}
		})
	}
	if status, body := s.json(t, "GET", "/v1/webhook", ""); status != http.StatusNotFound {
		t.Errorf("after refusals: %d %s", status, body)
	}
}

func TestPutAndGetWebhook(t *testing.T) {
	s := newWebhookServer(t)
	status, body := s.json(t, "GET", "/v1/webhook", "")
	if code, msg := apiError(t, body); status != http.StatusNotFound || code != "not_found" || !strings.Contains(msg, "PUT /v1/webhook") {
		t.Errorf("unset webhook: %d %s", status, body)
	}

	var answers [][]byte
	for _, url := range []string{"https://app.example.com/hooks/ferry", "http://127.0.0.1:9000/h?tenant=1"} {
		status, body := s.json(t, "PUT", "/v1/webhook", `{"url":"`+url+`","secret":"`+hookSecret+`"}`)
		if status != http.StatusOK {
			t.Fatalf("PUT: %d %s", status, body)
		}
		answers = append(answers, body)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(got))
		if !slices.Equal(keys, []string{"updated_at", "url"}) || got["url"] != url {
			t.Errorf("PUT answered %s", body)
		}
		status, body = s.json(t, "GET", "/v1/webhook", "")
		if status != http.StatusOK || !strings.Contains(string(body), `"url":"`+url+`"`) {
			t.Errorf("GET after PUT: %d %s", status, body)
		}
		answers = append(answers, body)
	}
	for _, a := range answers {
		if strings.Contains(string(a), hookSecret) || strings.Contains(string(a), "secret") {
			t.Errorf("an answer shows the secret: %s", a)
		}
	}
	// Stored sealed, and opens to what was sent.
	cfg, err := s.db.WebhookConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg.Secret), hookSecret) {
		t.Error("the secret is stored in the clear")
	}
	if plain, err := s.sealer.Open(cfg.Secret); err != nil || string(plain) != hookSecret {
		t.Errorf("stored secret opens to %q, %v", plain, err)
	}
	if cfg.URL != "http://127.0.0.1:9000/h?tenant=1" || time.Since(cfg.UpdatedAt) > time.Hour {
		t.Errorf("stored %+v", cfg)
	}
}

func TestListDeliveries(t *testing.T) {
	s := newWebhookServer(t)
	ctx := context.Background()
	created := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	run := storage.Run{ID: "0193a000-0000-7000-8000-000000000001", Integration: "crm", Connection: "acme", Sync: "contacts", Status: storage.StatusSucceeded}
	var ds []storage.Delivery
	for i := 1; i <= 3; i++ {
		ds = append(ds, storage.Delivery{ID: fmt.Sprintf("0193b000-0000-7000-8000-%012d", i), Type: "sync.completed",
			Body: json.RawMessage(fmt.Sprintf(`{"type":"sync.completed","model":"M%d","added":%d}`, i, i)), NextAttemptAt: created, CreatedAt: created})
	}
	if err := s.db.FinishRun(ctx, run, ds); err != nil {
		t.Fatal(err)
	}
	delivered := created.Add(time.Second)
	ds[0].Status, ds[0].Attempts, ds[0].DeliveredAt = storage.DeliveryDelivered, 1, &delivered
	ds[1].Status, ds[1].Attempts, ds[1].LastError = storage.DeliveryFailed, 17, "HTTP 503 Service Unavailable"
	ds[2].Attempts, ds[2].NextAttemptAt, ds[2].LastError = 2, created.Add(4*time.Second), "connection refused"
	for _, d := range ds {
		if err := s.db.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	status, body := s.json(t, "GET", "/v1/webhook/deliveries", "")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	want := `{"deliveries":[` +
		`{"id":"0193b000-0000-7000-8000-000000000003","type":"sync.completed","run_id":"0193a000-0000-7000-8000-000000000001","status":"pending","attempts":2,"next_attempt_at":"2025-06-01T12:00:04Z","last_error":"connection refused","created_at":"2025-06-01T12:00:00Z","delivered_at":null,"body":{"type":"sync.completed","model":"M3","added":3}},` +
		`{"id":"0193b000-0000-7000-8000-000000000002","type":"sync.completed","run_id":"0193a000-0000-7000-8000-000000000001","status":"failed","attempts":17,"next_attempt_at":null,"last_error":"HTTP 503 Service Unavailable","created_at":"2025-06-01T12:00:00Z","delivered_at":null,"body":{"type":"sync.completed","model":"M2","added":2}},` +
		`{"id":"0193b000-0000-7000-8000-000000000001","type":"sync.completed","run_id":"0193a000-0000-7000-8000-000000000001","status":"delivered","attempts":1,"next_attempt_at":null,"last_error":"","created_at":"2025-06-01T12:00:00Z","delivered_at":"2025-06-01T12:00:01Z","body":{"type":"sync.completed","model":"M1","added":1}}` +
		`]}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	tests := []struct {
		query  string
		status int
		ids    []string // suffixes of the ids, in order
		errMsg string
	}{
		{"?status=pending", 200, []string{"3"}, ""},
		{"?status=delivered", 200, []string{"1"}, ""},
		{"?status=failed", 200, []string{"2"}, ""},
		{"?limit=2", 200, []string{"3", "2"}, ""},
		{"?status=lost", 400, nil, `status must be pending, delivered or failed, not "lost"`},
		{"?limit=0", 400, nil, "limit must be a number from 1 to 1000"},
		{"?limit=1001", 400, nil, "limit must be a number from 1 to 1000"},
		{"?limit=ten", 400, nil, "limit must be a number from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := s.json(t, "GET", "/v1/webhook/deliveries"+tt.query, "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.errMsg != "" {
				if code, msg := apiError(t, body); code != "invalid_request" || msg != tt.errMsg {
					t.Errorf("error %s %q, want %q", code, msg, tt.errMsg)
				}
				return
			}
			var out struct {
				Deliveries []struct{ ID string } `json:"deliveries"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range out.Deliveries {
				ids = append(ids, d.ID[len(d.ID)-1:])
			}
			if !slices.Equal(ids, tt.ids) {
				t.Errorf("ids %v, want %v", ids, tt.ids)
			}
		})
	}
}

func TestListDeliveriesEmpty(t *testing.T) {
	s := newWebhookServer(t)
	status, body := s.json(t, "GET", "/v1/webhook/deliveries", "")
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"deliveries":[]}` {
		t.Errorf("%d %s", status, body)
	}
}
