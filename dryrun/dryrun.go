package dryrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/exchanges"
	"github.com/ferrysync/ferry/hostfuncs"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/proxy"
	"github.com/ferrysync/ferry/records"
	"github.com/ferrysync/ferry/runtime"
	"github.com/ferrysync/ferry/secrets"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// Connection is the id of the connection a dry run creates in its throwaway store.
const Connection = "dryrun"

// Options say what to run and how.
type Options struct {
	// Dir holds the plugin: its ferry.yaml and the module it names.
	Dir string
	// Sync is the sync to run.
	Sync string
	// Credentials, Metadata and BaseURL are the connection's, as `ferry connection put` takes
	// them. When replaying, missing credentials are filled with placeholders, since no
	// request reaches the provider.
	Credentials map[string]string
	Metadata    json.RawMessage
	BaseURL     string
	// Checkpoint, if set, is the checkpoint the sync starts from (a JSON object). A full sync
	// ignores it, as on a server: its runs always start afresh.
	Checkpoint json.RawMessage
	// Record, if set, is a directory to record every HTTP exchange in (see package exchanges).
	Record string
	// Replay, if set, is a directory of recorded exchanges that answer the plugin instead of
	// the network.
	Replay string
	// WorkerCommand starts a worker process: the ferry binary in worker mode. The cache
	// directory is passed to it as "--cache DIR".
	WorkerCommand []string
	// CacheDir, if set, is a compilation cache for modules kept across dry runs, so a module
	// is compiled once; by default a dry run compiles into its temporary directory.
	CacheDir string
	// Progress, if set, is kept up to date while the sync runs.
	Progress *Progress
	// Logger receives the workers' and the runner's own logs; nil discards them.
	Logger *slog.Logger
}

// Progress counts what a running dry run has done so far; it is safe for concurrent use.
type Progress struct {
	requests, saved atomic.Int64
}

// Requests returns the number of HTTP requests the plugin has made.
func (p *Progress) Requests() int64 { return p.requests.Load() }

// Saved returns the number of records the plugin has saved (added, updated or unchanged).
func (p *Progress) Saved() int64 { return p.saved.Load() }

// Result is what a dry run did.
type Result struct {
	Integration string `json:"integration"`
	Sync        string `json:"sync"`
	// Type is the sync's type: incremental or full.
	Type string `json:"type"`
	// BaseURL is the base URL requests were resolved against.
	BaseURL string `json:"base_url"`
	// Status is succeeded, failed or cancelled; Error says why a run did not succeed.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Records are the records the run left, per model (every model of the sync), in the order
	// they were last saved, without Ferry's _ferry metadata.
	Records map[string][]json.RawMessage `json:"records"`
	// Deleted are the ids the run deleted, per model.
	Deleted map[string][]string `json:"deleted"`
	// Counts are the run's counts per model, as a server's run reports them.
	Counts map[string]records.Counts `json:"counts"`
	// Checkpoint is the checkpoint the run left; null if none.
	Checkpoint json.RawMessage `json:"checkpoint"`
	// Log is the run's log: plugin lines, captured output and every HTTP exchange.
	Log []storage.LogEntry `json:"log"`
	// Requests is the number of HTTP requests the plugin made.
	Requests   int64   `json:"requests"`
	DurationMS float64 `json:"duration_ms"`
}

// Succeeded tells whether the run succeeded.
func (r *Result) Succeeded() bool { return r.Status == syncs.StatusSucceeded }

// Run loads the plugin in opt.Dir, checked as a deploy checks it, and runs one sync of it in
// a worker process against a throwaway store in a temporary directory, which it removes
// before returning: nothing is stored anywhere else (but in opt.Record). Counts, checkpoint
// and full-sync rules are a server's. A run that fails returns a Result with its status and
// error, and a nil error; Run's error is for a dry run that could not start (a bad plugin,
// bad options, a worker that would not start).
func Run(ctx context.Context, opt Options) (res *Result, err error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Progress == nil {
		opt.Progress = &Progress{}
	}
	if len(opt.WorkerCommand) == 0 {
		return nil, errors.New("dry run: no worker command")
	}
	if opt.Record != "" && opt.Replay != "" {
		return nil, errors.New("dry run: record and replay are exclusive: replaying makes no request to record")
	}
	manifest, wasm, m, err := load(opt.Dir)
	if err != nil {
		return nil, err
	}
	def, ok := m.Syncs[opt.Sync]
	if !ok {
		return nil, fmt.Errorf("%s has no sync %q (it has %v)", filepath.Join(opt.Dir, "ferry.yaml"), opt.Sync, m.SyncNames())
	}
	var replay *exchanges.Replayer
	if opt.Replay != "" {
		if replay, err = exchanges.NewReplayer(opt.Replay); err != nil {
			return nil, err
		}
	}

	tmp, err := os.MkdirTemp("", "ferry-dryrun-")
	if err != nil {
		return nil, fmt.Errorf("dry run: temporary directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = fmt.Errorf("dry run: remove the temporary store: %w", rerr)
		}
	}()
	db, err := storage.Open(filepath.Join(tmp, "ferry.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cacheDir := opt.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(tmp, "cache")
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("dry run: compilation cache: %w", err)
	}
	defer cache.Close(context.WithoutCancel(ctx))
	reg, err := plugins.NewRegistry(ctx, db, filepath.Join(tmp, "modules"), cache)
	if err != nil {
		return nil, err
	}
	defer reg.Close(context.WithoutCancel(ctx))
	if _, err := reg.Deploy(ctx, manifest, wasm); err != nil {
		return nil, fmt.Errorf("%s: %w", opt.Dir, err)
	}
	sealer, err := secrets.LoadOrCreateSealer(tmp)
	if err != nil {
		return nil, err
	}
	conns := connections.NewService(db, sealer, reg)
	if err := connect(ctx, conns, m, opt, replay != nil); err != nil {
		return nil, err
	}
	if len(opt.Checkpoint) > 0 {
		cp, err := jsonObject(opt.Checkpoint, hostfuncs.MaxStateSize)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if err := db.SaveCheckpoint(ctx, m.Integration, Connection, opt.Sync, cp); err != nil {
			return nil, err
		}
	}

	pool, err := runtime.NewPool(ctx, runtime.PoolConfig{Size: 1, Logger: opt.Logger,
		Command: append(append([]string(nil), opt.WorkerCommand...), "--cache", cacheDir)})
	if err != nil {
		return nil, fmt.Errorf("dry run: start a worker: %w", err)
	}
	defer pool.Close()
	runner := syncs.NewRunner(syncs.Config{
		Store: &countingStore{Store: db, progress: opt.Progress}, Plugins: reg, Connections: conns,
		Pool: pool, Proxy: proxy.New(), Logger: opt.Logger, MaxRuns: 1,
	})
	defer runner.Close()

	local := syncs.LocalOptions{}
	var rec *exchanges.Recorder
	if opt.Record != "" {
		headers := []string{}
		if m.Provider.Auth.Type == plugins.AuthHeader {
			headers = append(headers, m.Provider.Auth.Name)
		}
		if rec, err = exchanges.NewRecorder(opt.Record, exchanges.RecordOptions{BaseURL: baseURL(m, opt), SecretHeaders: headers}); err != nil {
			return nil, err
		}
	}
	local.WrapHTTP = func(f hostfuncs.Fetcher) hostfuncs.Fetcher {
		if rec != nil {
			f = rec.Wrap(f)
		}
		return &countingFetcher{next: f, progress: opt.Progress}
	}
	if replay != nil {
		local.HTTP = replay
	}

	start := time.Now()
	run, runErr := runner.RunLocal(ctx, m.Integration, Connection, opt.Sync, local)
	if run.EndedAt == nil { // the run never started
		return nil, runErr
	}
	res = &Result{
		Integration: m.Integration, Sync: opt.Sync, Type: def.Type, BaseURL: baseURL(m, opt),
		Status: run.Status, Error: run.Error, Counts: run.Counts,
		Requests: opt.Progress.Requests(), DurationMS: float64(time.Since(start).Microseconds()) / 1000,
	}
	read := context.WithoutCancel(ctx)
	if res.Records, res.Deleted, err = readRecords(read, db, m.Integration, def.Models); err != nil {
		return nil, err
	}
	if res.Checkpoint, err = db.Checkpoint(read, m.Integration, Connection, opt.Sync); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if res.Log, err = db.RunLog(read, run.ID); err != nil {
		return nil, err
	}
	if replay != nil {
		if unused := replay.Unused(); len(unused) > 0 {
			res.Log = append(res.Log, storage.LogEntry{Time: time.Now().UTC(), Level: "warn",
				Message: fmt.Sprintf("replay: %d recorded exchange(s) in %s were not requested, the first %s %s",
					len(unused), opt.Replay, unused[0].Request.Method, unused[0].Request.URL)})
		}
	}
	return res, nil
}

// load reads ferry.yaml in dir and the module it names.
func load(dir string) (manifest, wasm []byte, m *plugins.Manifest, err error) {
	path := filepath.Join(dir, "ferry.yaml")
	if manifest, err = os.ReadFile(path); err != nil {
		return nil, nil, nil, fmt.Errorf("read the plugin's manifest: %w", err)
	}
	if m, err = plugins.Parse(manifest); err != nil {
		return nil, nil, nil, fmt.Errorf("%s:\n%w", path, err)
	}
	if wasm, err = os.ReadFile(filepath.Join(dir, m.Wasm)); err != nil {
		return nil, nil, nil, fmt.Errorf("read the plugin's module (build the plugin first): %w", err)
	}
	return manifest, wasm, m, nil
}

// connect creates the dry run's connection as `ferry connection put` would on a server.
func connect(ctx context.Context, conns *connections.Service, m *plugins.Manifest, opt Options, replaying bool) error {
	creds := opt.Credentials
	if len(creds) == 0 && replaying {
		creds = connections.Placeholders(m.Provider.Auth.Type, "replay")
	}
	if creds == nil {
		creds = map[string]string{}
	}
	put := connections.Put{Credentials: creds, Metadata: opt.Metadata}
	if opt.BaseURL != "" {
		put.BaseURL = &opt.BaseURL
	}
	if _, _, err := conns.Put(ctx, m.Integration, Connection, put); err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	return nil
}

func baseURL(m *plugins.Manifest, opt Options) string {
	if opt.BaseURL != "" {
		return opt.BaseURL
	}
	return m.Provider.BaseURL
}

// jsonObject checks that raw is one JSON object of at most limit bytes and compacts it.
func jsonObject(raw json.RawMessage, limit int) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("must be a JSON object: %s", raw)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	if buf.Len() > limit {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", buf.Len(), limit)
	}
	return buf.Bytes(), nil
}

// readRecords reads every record of the models in the dry run's connection, in cursor order,
// splitting the deleted ones off.
func readRecords(ctx context.Context, db *storage.DB, integration string, models []string) (map[string][]json.RawMessage, map[string][]string, error) {
	live := make(map[string][]json.RawMessage, len(models))
	deleted := make(map[string][]string, len(models))
	for _, model := range models {
		live[model] = []json.RawMessage{}
		scope := storage.Scope{Integration: integration, Connection: Connection, Model: model}
		var after uint64
		for {
			recs, next, err := db.ReadRecords(ctx, scope, storage.RecordQuery{After: after, Limit: 10_000})
			if err != nil {
				return nil, nil, err
			}
			for _, r := range recs {
				if r.Meta.LastAction == records.Deleted {
					deleted[model] = append(deleted[model], r.ID)
					continue
				}
				live[model] = append(live[model], r.Data)
			}
			if next == 0 {
				break
			}
			after = next
		}
	}
	return live, deleted, nil
}

// countingStore counts the records saved, for the progress line.
type countingStore struct {
	syncs.Store
	progress *Progress
}

func (s *countingStore) SaveRecords(ctx context.Context, sc storage.Scope, items []records.Item, now time.Time, opts ...storage.WriteOption) (records.Counts, error) {
	c, err := s.Store.SaveRecords(ctx, sc, items, now, opts...)
	if err == nil {
		s.progress.saved.Add(int64(len(items)))
	}
	return c, err
}

// countingFetcher counts the requests made, for the progress line.
type countingFetcher struct {
	next     hostfuncs.Fetcher
	progress *Progress
}

func (f *countingFetcher) Fetch(ctx context.Context, req proxy.Request) (*proxy.Response, error) {
	f.progress.requests.Add(1)
	return f.next.Fetch(ctx, req)
}
