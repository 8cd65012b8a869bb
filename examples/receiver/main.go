// Command receiver is the example app's end of Ferry's webhooks: it takes the events Ferry
// POSTs, checks their signature, and prints each one once, as a line of JSON on stdout. The
// demo (examples/demo.sh) runs it to show what an app is told.
//
//	go run ./examples/receiver --secret S [--addr HOST:PORT]
//
// Point Ferry at it with `ferry webhook set http://ADDR/ --secret S`. Once it listens, it
// prints exactly one line, "receiver listening on http://ADDR" (with the real port when --addr
// asks for port 0), then one line per event. A request whose X-Ferry-Signature does not match
// is answered 401 and logged to stderr; a delivery seen before (the same X-Ferry-Delivery, as
// on a retry) is answered 204 and not printed again. SIGINT or SIGTERM stops it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/ferrysync/ferry/examples/internal/listen"
	"github.com/ferrysync/ferry/webhooks"
)

// errUsage marks a bad command line; the command then exits with status 2.
var errUsage = listen.ErrUsage

// maxBody bounds an event's body; Ferry's are a few hundred bytes.
const maxBody = 1 << 20

func main() { listen.Main("receiver", run) }

// run parses args and serves until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7402", "`HOST:PORT` to listen on; port 0 picks a free port")
	secret := fs.String("secret", "", "the `secret` Ferry signs its webhooks with (ferry webhook set --secret)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *secret == "":
		return fmt.Errorf("%w: --secret is required", errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rc := &receiver{secret: []byte(*secret), out: stdout, log: log, seen: map[string]bool{}}
	return listen.Serve(ctx, "receiver", *addr, rc, stdout, log)
}

// receiver checks and prints Ferry's webhook events.
type receiver struct {
	secret []byte
	log    *slog.Logger

	mu   sync.Mutex
	out  io.Writer       // one line per event; written under mu so lines never interleave
	seen map[string]bool // X-Ferry-Delivery ids already printed
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Check the signature over the raw body, before parsing anything.
	if !webhooks.Verify(rc.secret, body, r.Header.Get("X-Ferry-Signature")) {
		rc.log.Warn("refused a webhook with a bad signature", "remote", r.RemoteAddr, "delivery", r.Header.Get("X-Ferry-Delivery"))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var line bytes.Buffer
	if err := json.Compact(&line, body); err != nil {
		http.Error(w, "body is not JSON", http.StatusBadRequest)
		return
	}
	line.WriteByte('\n')
	delivery := r.Header.Get("X-Ferry-Delivery")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if delivery != "" && rc.seen[delivery] {
		w.WriteHeader(http.StatusNoContent) // a retry of an event already printed
		return
	}
	if _, err := rc.out.Write(line.Bytes()); err != nil {
		http.Error(w, "write: "+err.Error(), http.StatusInternalServerError) // Ferry retries
		return
	}
	if delivery != "" {
		rc.seen[delivery] = true
	}
	w.WriteHeader(http.StatusNoContent)
}
