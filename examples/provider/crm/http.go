package crm

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Paging bounds of the data routes.
const (
	defaultContactsLimit = 100
	defaultCompaniesPage = 50
	maxPageSize          = 1000
)

// maxBodyBytes bounds the body of an admin request.
const maxBodyBytes = 1 << 20

// routes builds the HTTP API. Every route, including unknown ones, sits behind the bearer
// token; the data routes also count requests and obey the rate limit.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.authorized(h)) }
	data := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.authorized(s.limited(h))) }

	data("GET /contacts", s.listContacts)
	data("POST /contacts", s.createContact)
	data("PATCH /contacts/{id}", s.patchContact)
	data("GET /contacts/deleted", s.listDeletedContacts)
	data("GET /companies", s.listCompanies)

	handle("POST /admin/mutate", s.mutate)
	handle("PUT /admin/contacts/{id}", s.putContact)
	handle("DELETE /admin/contacts/{id}", s.deleteContact)
	handle("PUT /admin/companies/{id}", s.putCompany)
	handle("DELETE /admin/companies/{id}", s.deleteCompany)
	handle("GET /admin/stats", s.stats)
	handle("PUT /admin/webhook", s.putWebhook)
	handle("GET /admin/webhook", s.getWebhook)

	handle("/", s.noRoute)
	return mux
}

// noRoute answers requests no route matches: 405 with an Allow header when the path exists
// for other methods, else 404. (The catch-all route makes ServeMux's own 405 unreachable, and
// it exists so that every error, not only ours, is JSON.)
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host}
		if _, pattern := s.mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s", r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s not allowed for %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
}

// authorized answers 401 unless the request carries "Authorization: Bearer TOKEN".
func (s *Server) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry-example-provider"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limited counts a data request and answers 429 with "Retry-After: 1" when it is over the
// rate limit.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.limiter != nil && !s.limiter.AllowN(s.now(), 1) {
			s.rateLimited.Add(1)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate limit exceeded: retry after 1 second")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// listContacts serves GET /contacts?limit=L&cursor=C&updated_after=T.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", defaultContactsLimit, 1, maxPageSize)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	after := beforeAllContacts
	if c := q.Get("cursor"); c != "" {
		if after, err = decodeCursor(c); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	updatedAfter := int64(math.MinInt64)
	if v := q.Get("updated_after"); v != "" {
		t, err := timeParam("updated_after", v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		updatedAfter = t.UnixNano()
	}
	buf := getBuffer()
	defer putBuffer(buf)
	*buf = s.appendContactsPage((*buf)[:0], after, updatedAfter, limit, q.Get("email"))
	writeJSONBytes(w, http.StatusOK, *buf)
}

// createContact serves POST /contacts: 201 with the new contact.
func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	var n NewContact
	if err := decodeBody(w, r, &n); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, err := s.CreateContact(n)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// patchContact serves PATCH /contacts/{id}: 200 with the changed contact, 404 for an unknown
// id.
func (s *Server) patchContact(w http.ResponseWriter, r *http.Request) {
	var p ContactPatch
	if err := decodeBody(w, r, &p); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c, err := s.PatchContact(r.PathValue("id"), p)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// listDeletedContacts serves GET /contacts/deleted?since=T.
func (s *Server) listDeletedContacts(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := timeParam("since", v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		since = t
	}
	writeJSON(w, http.StatusOK, struct {
		Data []Deletion `json:"data"`
	}{s.DeletedContacts(since)})
}

// listCompanies serves GET /companies?page=P&per_page=N, with a Link header to the next page.
func (s *Server) listCompanies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := intParam(q, "page", 1, 1, math.MaxInt)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	perPage, err := intParam(q, "per_page", defaultCompaniesPage, 1, maxPageSize)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	buf := getBuffer()
	defer putBuffer(buf)
	body, hasNext := s.appendCompaniesPage((*buf)[:0], page, perPage)
	*buf = body
	if hasNext {
		next := url.URL{
			Scheme:   "http",
			Host:     r.Host,
			Path:     "/companies",
			RawQuery: url.Values{"page": {strconv.Itoa(page + 1)}, "per_page": {strconv.Itoa(perPage)}}.Encode(),
		}
		if r.TLS != nil {
			next.Scheme = "https"
		}
		w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
	}
	writeJSONBytes(w, http.StatusOK, body)
}

// mutate serves POST /admin/mutate.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request) {
	var m Mutation
	if err := decodeBody(w, r, &m); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.Mutate(m)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// putContact serves PUT /admin/contacts/{id}: 201 with the stored contact when it is new,
// 200 when it replaced one.
func (s *Server) putContact(w http.ResponseWriter, r *http.Request) {
	var c Contact
	if err := decodeBody(w, r, &c); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := matchID(r, &c.ID); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	stored, created, err := s.PutContact(c)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, createdStatus(created), stored)
}

// deleteContact serves DELETE /admin/contacts/{id}: 204, or 404 for an unknown id.
func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteContact(r.PathValue("id")); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putCompany serves PUT /admin/companies/{id}, like putContact.
func (s *Server) putCompany(w http.ResponseWriter, r *http.Request) {
	var c Company
	if err := decodeBody(w, r, &c); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := matchID(r, &c.ID); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	stored, created, err := s.PutCompany(c)
	if err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, createdStatus(created), stored)
}

// deleteCompany serves DELETE /admin/companies/{id}, like deleteContact.
func (s *Server) deleteCompany(w http.ResponseWriter, r *http.Request) {
	if err := s.DeleteCompany(r.PathValue("id")); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// stats serves GET /admin/stats.
func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// webhookURL is what the admin routes show of the webhook: never its secret.
type webhookURL struct {
	URL string `json:"url"`
}

// putWebhook serves PUT /admin/webhook {"url", "secret"}: 200 with {"url"}. An empty url
// turns webhooks off.
func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request) {
	var hook Webhook
	if err := decodeBody(w, r, &hook); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.SetWebhook(hook); err != nil {
		writeError(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, webhookURL{hook.URL})
}

// getWebhook serves GET /admin/webhook: {"url"}, "" when webhooks are off.
func (s *Server) getWebhook(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, webhookURL{s.Webhook().URL})
}

// pageBuffers holds the buffers pages are built in, so that serving a 1 MB page does not
// leave 1 MB of garbage behind each time.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer is the largest buffer kept for reuse; a rare huge page is left to the GC.
const maxPooledBuffer = 8 << 20

func getBuffer() *[]byte { return pageBuffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		pageBuffers.Put(b)
	}
}

// intParam reads the integer query parameter name, def when it is absent, and checks that it
// is within [lo, hi].
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		if hi == math.MaxInt {
			return 0, fmt.Errorf("%s must be an integer of at least %d, got %q", name, lo, v)
		}
		return 0, fmt.Errorf("%s must be an integer from %d to %d, got %q", name, lo, hi, v)
	}
	return n, nil
}

// timeParam parses v, the value of query parameter name, as an RFC 3339 time.
func timeParam(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time such as 2024-01-02T15:04:05.123456Z, got %q", name, v)
	}
	return t, nil
}

// decodeBody decodes a request's JSON body, of at most maxBodyBytes, into v, refusing
// unknown fields and trailing data so that a typo in a test or demo fails loudly.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode request body: unexpected data after the JSON value")
	}
	return nil
}

// matchID sets *id from the path, or checks that the body's id agrees with it.
func matchID(r *http.Request, id *string) error {
	path := r.PathValue("id")
	if *id != "" && *id != path {
		return fmt.Errorf("body id %q does not match path id %q", *id, path)
	}
	*id = path
	return nil
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes writes an encoded JSON body. A failed write means the client went away;
// there is nobody left to tell.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg}) // a struct with one string field always encodes
	writeJSONBytes(w, status, b)
}
