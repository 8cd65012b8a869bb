package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/examples/provider/crm"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/server"
	"github.com/ferrysync/ferry/syncs"
)

// nativeIntegration is the integration whose contacts sync runs as native Go.
const nativeIntegration = "bench-native"

// nativeServer is a server assembled in this process whose plugin calls run native Go
// functions instead of WebAssembly in worker processes. Everything else (runner, host
// functions, proxy, store) is the server's own code.
type nativeServer struct {
	srv *server.Server
}

func startNative(ctx context.Context, b *bench) (*nativeServer, error) {
	srv, err := server.New(ctx, server.Config{DataDir: filepath.Join(b.tmp, "native"), Pool: nativePool{}})
	if err != nil {
		return nil, fmt.Errorf("assemble the native server: %w", err)
	}
	// The registry checks the module against the manifest, so the native sync is deployed
	// with the Rust plugin's module, which has the export; nativePool never runs it.
	wasm, err := os.ReadFile(filepath.Join(b.cfg.Root, rustPlugin.dir, "plugin.wasm"))
	if err == nil {
		_, err = srv.Registry.Deploy(ctx, fmt.Appendf(nil, contactsManifest, nativeIntegration, "sync_contacts"), wasm)
	}
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("deploy the native sync: %w", err)
	}
	return &nativeServer{srv: srv}, nil
}

func (n *nativeServer) close() { n.srv.Close() }

// timeSync runs the native contacts sync on a new connection, as timeSync does for a plugin.
func (n *nativeServer) timeSync(ctx context.Context, b *bench) (float64, error) {
	conn := b.connection()
	base := b.provider
	_, _, err := n.srv.Connections.Put(ctx, nativeIntegration, conn, connections.Put{
		Credentials: map[string]string{"token": providerToken}, BaseURL: &base,
	})
	if err != nil {
		return 0, err
	}
	defer n.srv.DB.DeleteConnection(context.WithoutCancel(ctx), nativeIntegration, conn)
	start := time.Now()
	r, err := n.srv.Runner.Trigger(ctx, nativeIntegration, conn, "contacts", syncs.TriggerOptions{})
	if err != nil {
		return 0, err
	}
	for r.Status == syncs.StatusQueued || r.Status == syncs.StatusRunning {
		time.Sleep(10 * time.Millisecond) // as ferryServer.wait polls
		if r, err = n.srv.DB.Run(ctx, r.ID); err != nil {
			return 0, err
		}
	}
	if r.Status != syncs.StatusSucceeded {
		return 0, fmt.Errorf("native run %s: %s", r.Status, r.Error)
	}
	if got := r.Counts["Contact"].Added; got != b.cfg.Records {
		return 0, fmt.Errorf("native run added %d contacts, want %d", got, b.cfg.Records)
	}
	var ended time.Time
	if r.EndedAt != nil {
		ended = *r.EndedAt
	}
	return syncRate(r.ID, b.cfg.Records, start, ended)
}

// nativePool runs the native contacts sync for the export sync_contacts.
type nativePool struct{}

func (nativePool) Run(ctx context.Context, j runtime.Job) (runtime.Result, error) {
	if j.Export != "sync_contacts" {
		return runtime.Result{}, fmt.Errorf("no native function for export %q", j.Export)
	}
	if err := nativeContacts(ctx, j.Host); err != nil {
		if _, ferr := j.Host.Dispatch(ctx, hostfuncs.OpFail, []byte(err.Error())); ferr != nil {
			return runtime.Result{}, ferr
		}
		return runtime.Result{Status: 1}, nil
	}
	return runtime.Result{}, nil
}

// contactsCheckpoint is the example plugins' checkpoint of the contacts sync.
type contactsCheckpoint struct {
	UpdatedAfter string `json:"updated_after"`
	Cursor       string `json:"cursor"`
	MaxUpdatedAt string `json:"max_updated_at,omitempty"`
}

// nativeContacts is the example plugins' contacts sync (examples/crm-go/contacts.go) as a
// native Go function making the same host calls with the same arguments: pages of 1,000
// contacts decoded into structs, the next page's request started (as the SDKs' pagers start
// it), the page encoded again and queued, a checkpoint after each page, a flush, then the
// deletion feed.
func nativeContacts(ctx context.Context, h runtime.Host) error {
	raw, err := h.Dispatch(ctx, hostfuncs.OpCheckpointGet, nil)
	if err != nil {
		return err
	}
	var cp contactsCheckpoint
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cp); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	since := cp.UpdatedAfter
	maxUpdated := cp.MaxUpdatedAt
	if since > maxUpdated {
		maxUpdated = since // RFC 3339 in UTC with fixed digits orders as text
	}
	query := url.Values{"limit": {"1000"}}
	if since != "" {
		query.Set("updated_after", since)
	}
	cursor := cp.Cursor
	if cursor != "" {
		query.Set("cursor", cursor)
	}
	var ahead []byte // the id of the next page's request, started as the SDKs' pagers start it
	for {
		var page struct {
			Data       []crm.Contact `json:"data"`
			NextCursor string        `json:"next_cursor"`
		}
		if err := getJSON(ctx, h, ahead, "/contacts", query, &page); err != nil {
			return err
		}
		cursor = page.NextCursor
		ahead = nil
		if cursor != "" {
			query.Set("cursor", cursor)
			id, err := h.Dispatch(ctx, hostfuncs.OpHTTPStart, getRequest("/contacts", query))
			if err != nil {
				return err
			}
			ahead = bytes.Clone(id)
		}
		batch, err := json.Marshal(page.Data)
		if err != nil {
			return err
		}
		if _, err := h.Dispatch(ctx, hostfuncs.OpRecordsQueue, append([]byte("Contact\n"), batch...)); err != nil {
			return err
		}
		for _, c := range page.Data {
			if t := c.UpdatedAt.UTC().Format(time.RFC3339Nano); t > maxUpdated {
				maxUpdated = t
			}
		}
		next, _ := json.Marshal(contactsCheckpoint{UpdatedAfter: since, Cursor: cursor, MaxUpdatedAt: maxUpdated})
		if _, err := h.Dispatch(ctx, hostfuncs.OpCheckpointSave, next); err != nil {
			return err
		}
		if cursor == "" {
			break
		}
	}
	if _, err := h.Dispatch(ctx, hostfuncs.OpRecordsFlush, nil); err != nil {
		return err
	}
	if since != "" {
		var feed struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := getJSON(ctx, h, nil, "/contacts/deleted", url.Values{"since": {since}}, &feed); err != nil {
			return err
		}
		ids := make([]string, len(feed.Data))
		for i, d := range feed.Data {
			ids[i] = d.ID
		}
		arg, _ := json.Marshal(ids)
		if _, err := h.Dispatch(ctx, hostfuncs.OpRecordsDelete, append([]byte("Contact\n"), arg...)); err != nil {
			return err
		}
	}
	final, _ := json.Marshal(contactsCheckpoint{UpdatedAfter: maxUpdated})
	_, err = h.Dispatch(ctx, hostfuncs.OpCheckpointSave, final)
	return err
}

// getRequest is the http argument of a GET request.
func getRequest(path string, query url.Values) []byte {
	req, _ := json.Marshal(map[string]any{"method": "GET", "path": path, "query": query})
	return append(req, '\n')
}

// getJSON makes a GET request through the http host function, or waits for the one started
// with the id ahead, and decodes the answer.
func getJSON(ctx context.Context, h runtime.Host, ahead []byte, path string, query url.Values, out any) error {
	var head, body []byte
	if ahead != nil {
		res, err := h.Dispatch(ctx, hostfuncs.OpHTTPWait, ahead) // BODY\nRESPONSE_JSON
		if err != nil {
			return err
		}
		i := bytes.LastIndexByte(res, '\n')
		body, head = res[:max(i, 0)], res[i+1:]
	} else {
		res, err := h.Dispatch(ctx, hostfuncs.OpHTTP, getRequest(path, query))
		if err != nil {
			return err
		}
		head, body, _ = bytes.Cut(res, []byte{'\n'})
	}
	var status struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(head, &status); err != nil {
		return fmt.Errorf("GET %s: bad response head: %w", path, err)
	}
	if status.Status != 200 {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", path, status.Status, body)
	}
	return json.Unmarshal(body, out)
}
