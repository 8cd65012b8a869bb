// Command provider runs Ferry's example provider: a small CRM-like HTTP API (package crm)
// that the example plugins sync from. See README.md for the API.
//
//	go run ./examples/provider [--addr HOST:PORT] [--token T] [--records N] [--companies M]
//	                           [--rate-limit R] [--seed S]
//	                           [--webhook-url URL --webhook-secret S]
//
// Once it listens, it prints exactly one line to stdout, "provider listening on
// http://ADDR", with the real port when --addr asks for port 0; scripts and tests wait for
// that line. Logs go to stderr. SIGINT or SIGTERM shuts it down gracefully. With
// --webhook-url, every contact change is POSTed there as a signed event.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ferrysync/ferry/examples/internal/listen"
	"github.com/ferrysync/ferry/examples/provider/crm"
)

// errUsage marks a bad command line; the command then exits with status 2.
var errUsage = listen.ErrUsage

func main() { listen.Main("provider", run) }

// run parses args, serves until ctx is done, then shuts down, letting requests in flight
// finish for up to five seconds.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7401", "`HOST:PORT` to listen on; port 0 picks a free port")
	token := fs.String("token", crm.DefaultToken, "bearer `token` every request must carry")
	records := fs.Int("records", 100, "number of contacts to generate")
	companies := fs.Int("companies", 20, "number of companies to generate")
	rateLimit := fs.Float64("rate-limit", 0, "data requests per second before 429 (burst the same); 0 means unlimited")
	seed := fs.Int64("seed", 1, "seed of the generated data")
	var hook crm.Webhook
	fs.StringVar(&hook.URL, "webhook-url", "", "`URL` to POST a signed event to on every contact change (PUT /admin/webhook sets it later)")
	fs.StringVar(&hook.Secret, "webhook-secret", "", "`secret` that signs the webhook events (HMAC-SHA256, header X-Provider-Signature)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case *token == "":
		return fmt.Errorf("%w: --token must not be empty", errUsage)
	case *records < 0:
		return fmt.Errorf("%w: --records must be at least 0, got %d", errUsage, *records)
	case *companies < 0:
		return fmt.Errorf("%w: --companies must be at least 0, got %d", errUsage, *companies)
	case *rateLimit < 0:
		return fmt.Errorf("%w: --rate-limit must be at least 0, got %g", errUsage, *rateLimit)
	case hook.URL == "" && hook.Secret != "":
		return fmt.Errorf("%w: --webhook-secret needs --webhook-url", errUsage)
	}
	if err := hook.Validate(); err != nil {
		return fmt.Errorf("%w: --webhook-url and --webhook-secret: %w", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	start := time.Now()
	provider := crm.New(crm.Options{
		Token:     *token,
		Contacts:  *records,
		Companies: *companies,
		RateLimit: *rateLimit,
		Seed:      *seed,
		Webhook:   hook,
		Log:       log,
	})
	defer provider.Close()
	log.Info("generated data", "contacts", *records, "companies", *companies, "seed", *seed,
		"took", time.Since(start).Round(time.Millisecond))

	return listen.Serve(ctx, "provider", *addr, provider, stdout, log)
}
