package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/ferrysync/ferry/records"
)

// readPage is the page size of the read benchmark, the API's usual large page.
const readPage = 1000

// read syncs the contacts once with the Rust plugin, then pages through them over REST as an
// app does, timing each page.
func read(ctx context.Context, b *bench) error {
	if err := b.deploy(ctx, rustPlugin); err != nil {
		return err
	}
	conn := b.connection()
	if _, err := b.timeSync(ctx, rustPlugin.integration, conn, false, "added"); err != nil {
		return err
	}
	defer b.srv.deleteConnection(context.WithoutCancel(ctx), rustPlugin.integration, conn)
	var rates, p99s []float64
	for range b.cfg.Runs {
		var pages []float64
		n, cursor := 0, ""
		start := time.Now()
		for {
			q := url.Values{"integration": {rustPlugin.integration}, "connection": {conn}, "model": {"Contact"},
				"limit": {fmt.Sprint(readPage)}, "cursor": {cursor}}
			t := time.Now()
			var body json.RawMessage
			if err := b.srv.GetJSON(ctx, "/v1/records?"+q.Encode(), &body); err != nil {
				return err
			}
			pages = append(pages, ms(time.Since(t)))
			// The page's records are counted and its cursor found without decoding the page,
			// which would time this client rather than the server.
			recs, _ := records.Lookup(body, "records")
			n += countObjects(recs)
			raw, _ := records.Lookup(body, "next_cursor")
			if err := json.Unmarshal(raw, &cursor); err != nil {
				return fmt.Errorf("page %d: next_cursor %q: %w", len(pages), raw, err)
			}
			if cursor == "" {
				break
			}
		}
		if n != b.cfg.Records {
			return fmt.Errorf("read %d records, want %d", n, b.cfg.Records)
		}
		rates = append(rates, float64(n)/time.Since(start).Seconds())
		p99s = append(p99s, percentile(pages, 99))
	}
	b.report.set("read_records_per_s", median(rates))
	b.report.set("read_page_p99_ms", median(p99s))
	return nil
}

// countObjects counts the objects directly inside a JSON array.
func countObjects(arr []byte) int {
	n := 0
	depth, inString, escaped := 0, false, false
	for _, c := range arr {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth == 2 && c == '{' {
				n++
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return n
}

// large syncs a larger provider's contacts with the Rust plugin and reports the peak memory
// of the server and its workers: against peak_run_rss_mb, it shows whether memory grows with
// the record count.
func large(ctx context.Context, b *bench) error {
	if b.cfg.LargeRecords < 0 {
		return nil
	}
	stop, url, err := serveProvider(b.cfg.LargeRecords, b.cfg.ProviderLatency)
	if err != nil {
		return err
	}
	defer stop()
	if err := b.deploy(ctx, rustPlugin); err != nil {
		return err
	}
	conn := b.connection()
	if err := b.srv.putConnection(ctx, rustPlugin.integration, conn, url, providerToken); err != nil {
		return err
	}
	defer b.srv.deleteConnection(context.WithoutCancel(ctx), rustPlugin.integration, conn)
	var counted int
	peak, err := watchRSS(b.srv, func() error {
		r, err := b.srv.sync(ctx, rustPlugin.integration, conn, "contacts", false)
		counted = r.Counts["Contact"]["added"]
		return err
	})
	if err != nil {
		return err
	}
	if counted != b.cfg.LargeRecords {
		return fmt.Errorf("the large sync added %d contacts, want %d", counted, b.cfg.LargeRecords)
	}
	b.report.set("peak_run_rss_mb_large", peak.rss)
	b.report.set("peak_run_anon_mb_large", peak.anon)
	b.report.note("peak_run_rss_mb_large", fmt.Sprintf("%d records", b.cfg.LargeRecords))
	return nil
}

// idle schedules many connections of a trivial sync every minute on a server of their own and
// reports the memory of its processes once they have run for a while.
func idle(ctx context.Context, b *bench) error {
	if b.cfg.IdleFor < 0 {
		return nil
	}
	srv, err := startServer(ctx, b.cfg.Ferry, filepath.Join(b.tmp, "idle"), 2, "")
	if err != nil {
		return err
	}
	defer srv.stop()
	const integration = "bench-idle"
	if err := b.deployProbe(ctx, srv, integration, "1m"); err != nil {
		return err
	}
	for i := range b.cfg.IdleConnections {
		if err := srv.putProbeConnection(ctx, integration, fmt.Sprintf("idle-%d", i), map[string]int{}); err != nil {
			return err
		}
	}
	b.progress("  %d connections scheduled every minute; waiting %s", b.cfg.IdleConnections, b.cfg.IdleFor)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.cfg.IdleFor):
	}
	mb, err := rssMB(srv.processTree())
	if err != nil {
		return err
	}
	b.report.set("idle_connections_rss_mb", mb)
	b.report.note("idle_connections_rss_mb", fmt.Sprintf("%d connections, after %s", b.cfg.IdleConnections, b.cfg.IdleFor))
	return nil
}
