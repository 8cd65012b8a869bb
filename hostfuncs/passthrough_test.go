package hostfuncs

import (
	"context"
	"testing"

	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

func TestHTTPSave(t *testing.T) {
	c, db, _ := newCall(t)
	c.Batch = db.NewSession(0, 0)
	pages := map[string]string{
		"/p1":    `{"data":[{"id":"a","n":1},{"id":"b","n":2}],"meta":{"next":"c2"}}`,
		"/p2":    `{"data":[{"id":"a","n":1},{"id":"b","n":3}],"meta":{"next":null}}`,
		"/empty": `{"data":null,"meta":{}}`,
		"/other": `{"items":[{"key":"k1"}]}`,
		"/bad":   `{"data":[{"id":"z"},{"n":1}]}`,
	}
	c.HTTP = fetchFunc(func(_ context.Context, r proxy.Request) (*proxy.Response, error) {
		body, ok := pages[r.Path]
		if !ok {
			return &proxy.Response{Status: 404, Header: map[string][]string{}, Body: []byte("no such page")}, nil
		}
		return &proxy.Response{Status: 200, Header: map[string][]string{"X-A": {"1"}}, Body: []byte(body)}, nil
	})
	save := `"save":{"model":"Contact","items":"data","values":["meta.next"]}`
	runSteps(t, c, []step{
		{op: OpHTTPSave, arg: `{"path":"/p1",` + save + "}\n",
			want: `{"status":200,"headers":{"X-A":["1"]},"count":2,"saved":{"added":2,"updated":0,"unchanged":0},"values":{"meta.next":"c2"}}`},
		{op: OpHTTPSave, arg: `{"path":"/p2",` + save + "}\n",
			want: `{"status":200,"headers":{"X-A":["1"]},"count":2,"saved":{"added":0,"updated":1,"unchanged":1},"values":{"meta.next":null}}`},
		{op: OpHTTPSave, arg: `{"path":"/empty",` + save + "}\n",
			want: `{"status":200,"headers":{"X-A":["1"]},"count":0,"saved":{"added":0,"updated":0,"unchanged":0},"values":{"meta.next":null}}`},
		{op: OpHTTPSave, arg: `{"path":"/missing",` + save + "}\n",
			want: `{"status":404,"headers":{},"count":0,"saved":{"added":0,"updated":0,"unchanged":0},"body":"no such page"}`},
		{op: OpHTTPSave, arg: `{"path":"/other","save":{"model":"Contact","items":"items","id":"key"}}` + "\n",
			want: `{"status":200,"headers":{"X-A":["1"]},"count":1,"saved":{"added":1,"updated":0,"unchanged":0}}`},
		{op: OpHTTPSave, arg: `{"path":"/bad",` + save + "}\n", wantErr: `record 1: "id" must be a non-empty string`},
		{op: OpHTTPSave, arg: `{"path":"/p1","save":{"model":"Contact","items":"nope"}}` + "\n", wantErr: `no items at "nope"`},
		{op: OpHTTPSave, arg: `{"path":"/p1","save":{"model":"Deal","items":"data"}}` + "\n", wantErr: `model "Deal" is not one of`},
		{op: OpHTTPSave, arg: `{"path":"/p1"}` + "\n", wantErr: `needs a "save" object`},
	})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := db.GetRecords(context.Background(), storage.Scope{Integration: "crm", Connection: "acme", Model: "Contact"}, []string{"a", "b", "k1", "z"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.ID+"="+string(r.Data))
	}
	want := []string{`a={"id":"a","n":1}`, `b={"id":"b","n":3}`, `k1={"key":"k1"}`}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("stored %v, want %v", got, want)
	}
	if n := c.Counts()["Contact"]; n != (records.Counts{Added: 3, Updated: 1, Unchanged: 1}) {
		t.Errorf("counts %+v", n)
	}
	if c.Refused() == nil {
		t.Error("the refused batch was not recorded")
	}
}
