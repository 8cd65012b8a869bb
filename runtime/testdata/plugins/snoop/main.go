// Command snoop is a test plugin that calls every host function and dumps whatever it sees
// (input, metadata, checkpoint, last sync time, HTTP responses of an echo endpoint, records,
// links, error messages) everywhere it can write: records, the run's log, stdout and stderr,
// the checkpoint, the metadata, an action's output and error. If a connection's credentials
// reached the plugin, they would show up in one of those places.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

// snooper collects what the plugin saw, by what it came from.
type snooper struct {
	seen [][2]string
}

func (s *snooper) note(what string, v any, err error) {
	b, _ := json.Marshal(v)
	text := string(b)
	if err != nil {
		text += " error: " + err.Error()
	}
	s.seen = append(s.seen, [2]string{what, text})
}

func (s *snooper) dump() string {
	var b strings.Builder
	for _, kv := range s.seen {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String()
}

// look calls every host function a sync or an action has.
func (s *snooper) look(h *ferry.Host) {
	var md json.RawMessage
	s.note("metadata", md, h.Metadata(&md))
	for _, req := range []ferry.Request{
		{Path: "/echo"},
		{Path: "/echo", Query: map[string][]string{"q": {"1"}}, Header: ferry.Header{"Authorization": {"Bearer mine"}, "X-Mine": {"1"}}},
		{Method: "POST", Path: "/echo", Body: []byte(`{"hello":"provider"}`)},
		{Path: "/redirect"},
		{URL: "https://evil.example.com/"},
	} {
		if req.Method == "" {
			req.Method = "GET"
		}
		what := "http " + req.Method + " " + req.Path + req.URL
		if resp, err := h.HTTP.Do(req); resp != nil {
			s.note(what, map[string]any{"status": resp.Status, "headers": resp.Header, "body": string(resp.Body)}, err)
		} else {
			s.note(what, nil, err)
		}
	}
	res, err := h.Save("Seen", []map[string]string{{"id": "probe", "v": "1"}})
	s.note("records_save", res, err)
	up, err := h.Update("Seen", []map[string]string{{"id": "probe", "w": "2"}})
	s.note("records_update", up, err)
	var got []json.RawMessage
	s.note("records_get", got, h.Get("Seen", []string{"probe"}, &got))
	_, err = h.Save("Seen", []map[string]string{{"no": "id"}})
	s.note("records_save refused", nil, err)
	n, err := h.Delete("Seen", "gone")
	s.note("records_delete", n, err)
	s.note("links_put", nil, h.Links.Put("Seen", ferry.Link{AppID: "app-1", ExternalID: "ext-1"}))
	link, ok, err := h.Links.ByAppID("Seen", "app-1")
	s.note("links_get", map[string]any{"link": link, "ok": ok}, err)
	s.note("links_delete", nil, h.Links.Delete("Seen", "app-1"))
	s.note("trigger_sync", nil, h.TriggerSync("snoop"))
	s.note("metadata_set", nil, h.SetMetadata(map[string]string{"snooped": "yes"}))
	s.note("metadata again", md, h.Metadata(&md))
}

// spill writes what was seen everywhere a plugin can write.
func (s *snooper) spill(h *ferry.Host) error {
	dump := s.dump()
	h.Log.Debugf("%s", dump)
	h.Log.Infof("%s", dump)
	h.Log.Warnf("%s", dump)
	h.Log.Errorf("%s", dump)
	fmt.Fprint(os.Stdout, dump)
	fmt.Fprint(os.Stderr, dump)
	recs := make([]map[string]string, len(s.seen))
	for i, kv := range s.seen {
		recs[i] = map[string]string{"id": kv[0], "saw": kv[1]}
	}
	if _, err := h.Save("Seen", recs); err != nil {
		return err
	}
	return h.SetMetadata(map[string]string{"dump": dump})
}

//go:wasmexport snoop
//lint:ignore U1000 exported to the host
func snoop() int32 {
	return ferry.RunSync(func(sy *ferry.Sync) error {
		s := &snooper{}
		var cp json.RawMessage
		ok, err := sy.Checkpoint(&cp)
		s.note("checkpoint", map[string]any{"ok": ok, "cp": cp}, err)
		t, ok, err := sy.LastSyncTime()
		s.note("last_sync_time", map[string]any{"ok": ok, "t": t}, err)
		s.look(sy.Host)
		s.note("checkpoint_clear", nil, sy.ClearCheckpoint())
		if err := s.spill(sy.Host); err != nil {
			return err
		}
		return sy.SaveCheckpoint(map[string]string{"dump": s.dump()})
	})
}

//go:wasmexport snoop_action
//lint:ignore U1000 exported to the host
func snoopAction() int32 {
	return ferry.RunAction(func(a *ferry.Action) error {
		s := &snooper{}
		var in json.RawMessage
		s.note("input", in, a.Input(&in))
		s.look(a.Host)
		if err := s.spill(a.Host); err != nil {
			return err
		}
		if string(in) == `{"fail":true}` {
			return errors.New("failing on purpose, with all I saw:\n" + s.dump())
		}
		return a.Output(map[string]string{"dump": s.dump()})
	})
}
