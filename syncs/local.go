package syncs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/storage"
)

// TriggerDryRun is the trigger of a run started by RunLocal (`ferry dryrun`).
const TriggerDryRun = "dryrun"

// LocalOptions say how RunLocal runs a sync.
type LocalOptions struct {
	// Full and Force are as in TriggerOptions.
	Full, Force bool
	// WrapHTTP, if set, wraps the connection's HTTP access (the proxy, which logs every
	// exchange in the run's log), e.g. to record the exchanges.
	WrapHTTP func(proxied hostfuncs.Fetcher) hostfuncs.Fetcher
	// HTTP, if set, answers the plugin's requests instead of the proxy, e.g. from recorded
	// exchanges; each exchange is logged as the proxy's are, with the URL the plugin gave.
	HTTP hostfuncs.Fetcher
}

// RunLocal runs a sync of a connection once, now, in the calling goroutine: what `ferry dryrun`
// does against a throwaway store. The run is the one Trigger would start (the same host
// functions, proxy, limits, checkpoint rules and full-sync deletions), but it does not wait in
// the sync's lane or for a run slot, and it queues no webhook. The run, its log, its records
// and its checkpoint are stored in the runner's store like any run's. The returned run is
// finished; the error is the run's, if it failed.
func (r *Runner) RunLocal(ctx context.Context, integration, connection, sync string, opt LocalOptions) (storage.Run, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return storage.Run{}, err
	}
	run := storage.Run{
		ID: id.String(), Kind: storage.KindSync, Integration: integration, Connection: connection, Sync: sync,
		Trigger: TriggerDryRun, Full: opt.Full, Status: StatusRunning, StartedAt: time.Now().UTC(),
	}
	store := context.WithoutCancel(ctx)
	if err := r.cfg.Store.PutRun(store, run); err != nil {
		return run, fmt.Errorf("store the run: %w", err)
	}
	log := newRunLog(r.cfg.Store, run.ID, r.cfg.Logger)
	httpFor := func(proxied hostfuncs.Fetcher) hostfuncs.Fetcher {
		f := proxied
		if opt.HTTP != nil {
			f = &loggedFetcher{next: opt.HTTP, log: log}
		}
		if opt.WrapHTTP != nil {
			f = opt.WrapHTTP(f)
		}
		return f
	}
	var hooks hookInfo
	runErr := r.sync(ctx, &run, opt.Force, log, &hooks, httpFor)
	var cancelled string
	if ctx.Err() != nil {
		cancelled = "cancelled before the run ended; its checkpoint is kept"
	}
	log.end(store, &run, runErr, cancelled)
	if err := r.cfg.Store.FinishRun(store, run, nil); err != nil {
		return run, fmt.Errorf("store the finished run: %w", err)
	}
	return run, runErr
}

// loggedFetcher logs the exchanges of a Fetcher that is not the proxy, which logs its own.
type loggedFetcher struct {
	next hostfuncs.Fetcher
	log  *runLog
}

func (f *loggedFetcher) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	start := time.Now()
	resp, err := f.next.Fetch(ctx, req)
	ex := proxy.Exchange{Method: req.Method, URL: req.URL, Duration: time.Since(start)}
	if req.Path != "" {
		ex.URL = req.Path
	}
	if len(req.Query) > 0 {
		sep := "?"
		if strings.Contains(ex.URL, "?") {
			sep = "&"
		}
		ex.URL += sep + req.Query.Encode()
	}
	if err != nil {
		ex.Err = err.Error()
	} else {
		ex.Status = resp.Status
	}
	f.log.http(ex)
	return resp, err
}
