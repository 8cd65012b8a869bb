// Package apiclient is a client of Ferry's REST API (api/), for the ferry commands that talk
// to a server and for the benchmark: requests with the secret key, JSON in and out, the API's
// error answers as *Error, and the multipart form of a deploy.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// Client talks to the server at Base with the secret key Key.
type Client struct {
	Base string // without a trailing slash
	Key  string
	HTTP *http.Client
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Code    string // the API's error code; "http" when the answer had none
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// Do sends a request and decodes a JSON answer into out (if not nil; a *json.RawMessage gets
// the answer as it is). An answer of status 400 or more is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("reach the server at %s: %w", c.Base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return &Error{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(data))}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// GetJSON is a GET decoded into out.
func (c *Client) GetJSON(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, "", out)
}

// SendJSON sends in as JSON and decodes the answer into out.
func (c *Client) SendJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.Do(ctx, method, path, bytes.NewReader(b), "application/json", out)
}

// DeployForm is the body of POST /v1/integrations, and its content type: the manifest, the
// module as a file named wasmName, and the flags force and dry_run.
func DeployForm(manifest []byte, wasmName string, wasm []byte, force, dryRun bool) (io.Reader, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		name, file string
		data       []byte
	}{{"manifest", "ferry.yaml", manifest}, {"wasm", wasmName, wasm}} {
		w, err := mw.CreateFormFile(part.name, part.file)
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(part.data); err != nil {
			return nil, "", err
		}
	}
	for _, f := range []struct {
		name string
		on   bool
	}{{"force", force}, {"dry_run", dryRun}} {
		if err := mw.WriteField(f.name, strconv.FormatBool(f.on)); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return &body, mw.FormDataContentType(), nil
}
