package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/storage"
)

// Record page sizes.
const (
	DefaultRecordsLimit = 100
	MaxRecordsLimit     = 10000
)

// readRecords pages through a connection's records of one model by cursor:
// {"records": [...], "next_cursor": "..."}, next_cursor empty when nothing is left.
func (s *Server) readRecords(c echo.Context) error {
	ctx := c.Request().Context()
	scope := storage.Scope{
		Integration: c.QueryParam("integration"),
		Connection:  c.QueryParam("connection"),
		Model:       c.QueryParam("model"),
	}
	if scope.Integration == "" || scope.Connection == "" || scope.Model == "" {
		return invalid("records needs the query parameters integration, connection and model")
	}
	q := storage.RecordQuery{Limit: DefaultRecordsLimit}
	var err error
	if q.After, err = records.ParseCursor(c.QueryParam("cursor")); err != nil {
		return invalid("cursor: %v", err)
	}
	if v := c.QueryParam("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 || q.Limit > MaxRecordsLimit {
			return invalid("limit must be a number from 1 to %d", MaxRecordsLimit)
		}
	}
	for _, f := range splitList(c.QueryParam("filter")) {
		a := records.Action(f)
		if !slices.Contains([]records.Action{records.Added, records.Updated, records.Deleted}, a) {
			return invalid("filter: unknown action %q (want added, updated, deleted)", f)
		}
		q.Actions = append(q.Actions, a)
	}
	q.IDs = splitList(c.QueryParam("ids"))

	d, err := s.cfg.Plugins.Active(ctx, scope.Integration)
	if err != nil {
		return err
	}
	if _, ok := d.Manifest.Models[scope.Model]; !ok {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: "model " + strconv.Quote(scope.Model) + " is not in " + scope.Integration + " (it has " + strings.Join(d.Manifest.ModelNames(), ", ") + ")"}
	}
	if _, err := s.cfg.Store.Connection(ctx, scope.Integration, scope.Connection); err != nil {
		return err
	}
	recs, next, err := s.cfg.Store.ReadRecords(ctx, scope, q)
	if err != nil {
		return err
	}
	// Records are spliced as they are stored, not re-encoded: reading is the hot path. Each
	// gets up to some 190 bytes of metadata; a buffer that had to grow would be copied whole.
	size := 64
	for _, r := range recs {
		size += len(r.Data) + 256
	}
	bp := pageBuffers.Get().(*[]byte)
	buf := slices.Grow((*bp)[:0], size)
	buf = append(buf, `{"records":[`...)
	for i, r := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = r.AppendJSON(buf); err != nil {
			return err
		}
	}
	buf = append(buf, `],"next_cursor":`...)
	nextCursor := ""
	if next != 0 {
		nextCursor = records.FormatCursor(next)
	}
	buf = append(append(append(buf, '"'), nextCursor...), '"') // digits only
	buf = append(buf, "}\n"...)
	err = c.Blob(http.StatusOK, echo.MIMEApplicationJSON, buf) // written out before it returns
	if cap(buf) <= maxPooledPage {
		*bp = buf
		pageBuffers.Put(bp)
	}
	return err
}

// pageBuffers holds the buffers of records pages once written, so that paging through a
// large cache does not allocate (and have the runtime scavenge) a megabyte a page.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPage is the largest page buffer kept for reuse.
const maxPooledPage = 16 << 20

// splitList splits a comma-separated query value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
