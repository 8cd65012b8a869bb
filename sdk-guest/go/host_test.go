package ferry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testHost is an in-memory Ferry host speaking the ABI through the abi seam: records,
// checkpoint, metadata, logs and the run's outcome live in its fields, and HTTP goes to a real
// server at baseURL. Tests read its fields to assert what a plugin did.
type testHost struct {
	t       *testing.T
	baseURL string // where request paths resolve

	calls      []hostFunc
	args       [][]byte // the argument of each call, copied
	errs       map[hostFunc]string
	records    map[string]map[string]json.RawMessage
	checkpoint []byte
	metadata   []byte
	lastSync   string
	input      []byte
	output     []byte
	failure    string
	logs       []string
	links      map[string][]Link // per model, in the order they were put
	triggered  []string          // the syncs trigger_sync asked for
	httpSave   []byte            // http_save's answer

	// The queue of records_queue. Queued batches are saved at once; what is kept is what the
	// guest can tell apart from a queue saved in the background: the failure of a queued
	// batch, held until a call that waits for the queue reports it (and in the meantime
	// dropping the checkpoints queued behind it), and the counts records_flush returns.
	queueErr    string     // the queued batch that failed, not yet reported
	queueCounts SaveResult // what the queued batches saved since the last records_flush

	// The answers to the requests http_start sent, by id, until http_wait takes them.
	started     map[string]startedAnswer
	lastStarted int
}

type startedAnswer struct {
	res []byte
	err error
}

var _ abi = (*testHost)(nil)

func newTestHost(t *testing.T) *testHost {
	return &testHost{t: t, errs: map[hostFunc]string{}, records: map[string]map[string]json.RawMessage{},
		started: map[string]startedAnswer{}}
}

func (th *testHost) count(f hostFunc) int {
	n := 0
	for _, c := range th.calls {
		if c == f {
			n++
		}
	}
	return n
}

func (th *testHost) call(f hostFunc, arg []byte) ([]byte, error) {
	th.calls = append(th.calls, f)
	th.args = append(th.args, bytes.Clone(arg))
	if msg, ok := th.errs[f]; ok {
		return nil, hostError(msg)
	}
	if waitsForQueue(f) && th.queueErr != "" {
		msg := th.queueErr
		th.queueErr = "" // reported: the queue is empty again
		return nil, hostError(msg)
	}
	switch f {
	case fnLog:
		th.logs = append(th.logs, strings.Replace(string(arg), "\n", ": ", 1))
		return nil, nil
	case fnInput:
		return bytes.Clone(th.input), nil
	case fnOutput:
		th.output = bytes.Clone(arg)
		return nil, nil
	case fnFail:
		th.failure = string(arg)
		return nil, nil
	case fnCheckpointGet:
		return bytes.Clone(th.checkpoint), nil
	case fnCheckpointSave:
		if th.queueErr == "" { // else queued behind the failed batch, and dropped
			th.checkpoint = bytes.Clone(arg)
		}
		return nil, nil
	case fnCheckpointClear:
		th.checkpoint = nil
		return nil, nil
	case fnMetadataGet:
		if th.metadata == nil {
			return []byte("{}"), nil
		}
		return bytes.Clone(th.metadata), nil
	case fnMetadataSet:
		th.metadata = bytes.Clone(arg)
		return nil, nil
	case fnLastSyncTime:
		if th.lastSync == "" {
			return nil, nil
		}
		return []byte(th.lastSync), nil
	case fnRecordsSave, fnRecordsUpdate, fnRecordsDelete, fnRecordsGet:
		return th.recordsCall(f, arg)
	case fnHTTP:
		return th.http(arg)
	case fnHTTPStart:
		// This host answers at once and keeps the answer until http_wait.
		th.lastStarted++
		id := strconv.Itoa(th.lastStarted)
		res, err := th.http(arg)
		th.started[id] = startedAnswer{res, err}
		return []byte(id), nil
	case fnHTTPWait:
		a, ok := th.started[string(arg)]
		if !ok {
			return nil, hostError(fmt.Sprintf("no request with id %q is started and not yet waited for", arg))
		}
		delete(th.started, string(arg))
		if a.err != nil {
			return nil, a.err
		}
		// http's RESPONSE_JSON\nBODY, answered as BODY\nRESPONSE_JSON
		head, body, _ := bytes.Cut(a.res, []byte("\n"))
		return append(append(bytes.Clone(body), '\n'), head...), nil
	case fnLinksGet, fnLinksPut, fnLinksDelete:
		return th.linksCall(f, arg)
	case fnTriggerSync:
		th.triggered = append(th.triggered, string(arg))
		return nil, nil
	case fnHTTPSave:
		return bytes.Clone(th.httpSave), nil
	case fnRecordsQueue:
		return nil, th.queue(arg)
	case fnRecordsFlush:
		n := th.queueCounts
		th.queueCounts = SaveResult{}
		return json.Marshal(n)
	}
	return nil, hostError("unknown function " + f.String())
}

// waitsForQueue reports whether f first waits for the queued writes, and so reports the
// failure of one (docs/abi.md, "Queued saves"): every call that reads or writes the store,
// records_queue and records_flush included; checkpoint_save is queued instead.
func waitsForQueue(f hostFunc) bool {
	switch f {
	case fnLog, fnInput, fnHTTP, fnHTTPStart, fnHTTPWait, fnMetadataGet, fnLastSyncTime, fnOutput, fnFail, fnCheckpointSave:
		return false
	}
	return true
}

// queue is records_queue, once the call has waited for the queue: the model is checked at
// once, the batch when it is saved, whose failure is held for the next call that waits.
func (th *testHost) queue(arg []byte) error {
	model, _, ok := bytes.Cut(arg, []byte("\n"))
	if !ok {
		return hostError("no model header")
	}
	if err := checkModel(string(model)); err != nil {
		return hostError(err.Error())
	}
	out, err := th.recordsCall(fnRecordsSave, arg)
	if err != nil {
		th.queueErr = "a queued records_queue failed, and the writes queued after it were dropped: " + err.Error()
		return nil
	}
	var n SaveResult
	if err := json.Unmarshal(out, &n); err != nil {
		th.t.Fatalf("test host: records_save result %s: %v", out, err)
	}
	th.queueCounts.Added += n.Added
	th.queueCounts.Updated += n.Updated
	th.queueCounts.Unchanged += n.Unchanged
	return nil
}

func (th *testHost) recordsCall(f hostFunc, arg []byte) ([]byte, error) {
	model, body, ok := bytes.Cut(arg, []byte("\n"))
	if !ok {
		return nil, hostError("no model header")
	}
	cache := th.records[string(model)]
	if cache == nil {
		cache = map[string]json.RawMessage{}
		th.records[string(model)] = cache
	}
	switch f {
	case fnRecordsDelete, fnRecordsGet:
		var ids []string
		if err := json.Unmarshal(body, &ids); err != nil {
			return nil, hostError(err.Error())
		}
		var found []json.RawMessage
		n := 0
		for _, id := range ids {
			if rec, ok := cache[id]; ok {
				found = append(found, rec)
				if f == fnRecordsDelete {
					delete(cache, id)
				}
				n++
			}
		}
		if f == fnRecordsGet {
			if found == nil {
				found = []json.RawMessage{}
			}
			return json.Marshal(found)
		}
		return fmt.Appendf(nil, `{"deleted":%d}`, n), nil
	}
	var batch []map[string]any
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, hostError(fmt.Sprintf("save %s batch: %v", model, err))
	}
	for i, rec := range batch {
		if _, ok := rec["id"].(string); !ok {
			return nil, hostError(fmt.Sprintf(`save %s batch: record %d: "id" must be a string`, model, i))
		}
	}
	var added, updated, unchanged int
	for _, rec := range batch {
		id := rec["id"].(string)
		old, had := cache[id]
		if f == fnRecordsUpdate {
			if !had {
				continue
			}
			var merged map[string]any
			_ = json.Unmarshal(old, &merged)
			for k, v := range rec {
				merged[k] = v
			}
			rec = merged
		}
		enc, _ := json.Marshal(rec) // maps encode with sorted keys: equal content, equal bytes
		switch {
		case !had:
			added++
		case bytes.Equal(old, enc):
			unchanged++
		default:
			updated++
		}
		cache[id] = enc
	}
	if f == fnRecordsUpdate {
		return fmt.Appendf(nil, `{"updated":%d,"unchanged":%d}`, updated, unchanged), nil
	}
	return fmt.Appendf(nil, `{"added":%d,"updated":%d,"unchanged":%d}`, added, updated, unchanged), nil
}

// linksCall keeps links the way the host does: one per app id and one per external id within
// a model.
func (th *testHost) linksCall(f hostFunc, arg []byte) ([]byte, error) {
	model, body, ok := bytes.Cut(arg, []byte("\n"))
	if !ok {
		return nil, hostError("no model header")
	}
	var q Link
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, hostError(err.Error())
	}
	if th.links == nil {
		th.links = map[string][]Link{}
	}
	links := th.links[string(model)]
	switch f {
	case fnLinksGet:
		for _, l := range links {
			if q.AppID != "" && l.AppID == q.AppID || q.AppID == "" && l.ExternalID == q.ExternalID {
				return json.Marshal(l)
			}
		}
		return nil, nil
	case fnLinksPut:
		if q.AppID == "" || q.ExternalID == "" {
			return nil, hostError(`links_put needs "app_id" and "external_id"`)
		}
		links = slices.DeleteFunc(links, func(l Link) bool { return l.AppID == q.AppID || l.ExternalID == q.ExternalID })
		th.links[string(model)] = append(links, q)
	default:
		th.links[string(model)] = slices.DeleteFunc(links, func(l Link) bool { return l.AppID == q.AppID })
	}
	return nil, nil
}

// http proxies a request to the test server the way the Ferry host does: path against the
// base URL, or an absolute url.
func (th *testHost) http(arg []byte) ([]byte, error) {
	head, body, _ := bytes.Cut(arg, []byte("\n"))
	var req struct {
		Method  string              `json:"method"`
		Path    string              `json:"path"`
		URL     string              `json:"url"`
		Query   url.Values          `json:"query"`
		Headers map[string][]string `json:"headers"`
	}
	if err := json.Unmarshal(head, &req); err != nil {
		return nil, hostError("bad request JSON: " + err.Error())
	}
	target := req.URL
	if target == "" {
		target = th.baseURL + req.Path
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, hostError(err.Error())
	}
	q := u.Query()
	for k, vs := range req.Query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	hreq, err := http.NewRequest(req.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, hostError(err.Error())
	}
	for k, vs := range req.Headers {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, hostError(err.Error())
	}
	defer resp.Body.Close()
	rbody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, hostError(err.Error())
	}
	out, _ := json.Marshal(map[string]any{"status": resp.StatusCode, "headers": resp.Header})
	out = append(out, '\n')
	return append(out, rbody...), nil
}
