package ferry

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestSaveFrom(t *testing.T) {
	th := newTestHost(t)
	h := newHost(th)
	th.httpSave = []byte(`{"status":200,"headers":{"X-A":["1"]},"count":2,"saved":{"added":1,"updated":0,"unchanged":1},"values":{"meta.next":"c2"}}`)
	got, err := h.HTTP.SaveFrom(Request{Path: "/contacts", Query: url.Values{"limit": {"2"}}}, "Contact",
		Passthrough{Items: "data", Values: []string{"meta.next"}})
	if err != nil {
		t.Fatal(err)
	}
	var next string
	if err := got.Value("meta.next", &next); err != nil || next != "c2" || got.Count != 2 ||
		got.Saved != (SaveResult{Added: 1, Unchanged: 1}) || got.Header.Get("x-a") != "1" {
		t.Fatalf("got %+v, next %q, %v", got, next, err)
	}
	if err := got.Value("other", &next); err == nil {
		t.Error("a value not asked for decoded")
	}
	var arg struct {
		Method  string     `json:"method"`
		Path    string     `json:"path"`
		Query   url.Values `json:"query"`
		Headers Header     `json:"headers"`
		Save    struct {
			Model, Items, ID string
			Values           []string
		} `json:"save"`
	}
	head, _, _ := strings.Cut(string(th.args[len(th.args)-1]), "\n")
	if err := json.Unmarshal([]byte(head), &arg); err != nil {
		t.Fatal(err)
	}
	if arg.Method != "GET" || arg.Path != "/contacts" || arg.Query.Get("limit") != "2" || arg.Save.Model != "Contact" ||
		arg.Save.Items != "data" || arg.Save.ID != "" || len(arg.Save.Values) != 1 || arg.Headers.Get("Accept") != "application/json" {
		t.Errorf("request sent: %s", head)
	}

	th.httpSave = []byte(`{"status":503,"headers":{},"count":0,"saved":{"added":0,"updated":0,"unchanged":0},"body":"down"}`)
	_, err = h.HTTP.SaveFrom(Request{Path: "/contacts"}, "Contact", Passthrough{Items: "data"})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.Body != "down" {
		t.Errorf("a 503: %v", err)
	}

	th.errs[fnHTTPSave] = `Contact batch refused, nothing saved: no items at "data" in the response body`
	_, err = h.HTTP.SaveFrom(Request{Path: "/contacts"}, "Contact", Passthrough{Items: "data"})
	if err == nil || !strings.Contains(err.Error(), `no items at "data"`) || !strings.Contains(err.Error(), "GET /contacts into Contact") {
		t.Errorf("a refusal: %v", err)
	}
}
