package crm

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkContactsPage serves pages of 1,000 contacts of 1 KB each, out of 100,000, over
// loopback HTTP, following the cursor and starting over at the end. It reports records/s;
// Ferry's sync benchmark needs the provider to be far faster than 50,000 records/s.
func BenchmarkContactsPage(b *testing.B) {
	ts := httptest.NewServer(New(Options{Contacts: 100_000, Companies: 100, Seed: 1}))
	defer ts.Close()
	client := ts.Client()
	var (
		buf     bytes.Buffer
		cursor  string
		records int
	)
	for b.Loop() {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/contacts?limit=1000&cursor="+cursor, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+DefaultToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		_, err = io.Copy(&buf, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, err %v", resp.StatusCode, err)
		}
		body := buf.Bytes()
		b.SetBytes(int64(len(body)))
		records += bytes.Count(body, []byte(`{"id":`))
		cursor = nextCursor(b, body)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// nextCursor finds next_cursor at the end of a page without decoding the page, which
// would measure the client rather than the server.
func nextCursor(b *testing.B, body []byte) string {
	const key = `"next_cursor":"`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		b.Fatalf("no next_cursor in page of %d bytes", len(body))
	}
	rest := body[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// BenchmarkNew generates 100,000 contacts, what a benchmark provider does at start.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New(Options{Contacts: 100_000, Companies: 100, Seed: 1})
	}
}
