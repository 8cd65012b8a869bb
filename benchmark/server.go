package benchmark

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferrysync/ferry/internal/apiclient"
	"github.com/ferrysync/ferry/secrets"
)

// ferryServer is a `ferry serve` process on loopback and a client of its REST API.
type ferryServer struct {
	apiclient.Client
	bin     string
	data    string
	workers int
	// pprofAddr, if set, has the server serve its profiles there.
	pprofAddr string

	cmd  *exec.Cmd
	logs *tailBuffer
}

// startServer starts `ferry serve` on data and waits until it listens.
func startServer(ctx context.Context, bin, data string, workers int, pprofAddr string) (*ferryServer, error) {
	s := &ferryServer{Client: apiclient.Client{HTTP: &http.Client{}}, bin: bin, data: data, workers: workers,
		pprofAddr: pprofAddr, logs: &tailBuffer{max: 64 << 10}}
	return s, s.start(ctx)
}

func (s *ferryServer) start(ctx context.Context) error {
	args := []string{"serve", "--data", s.data, "--addr", "127.0.0.1:0", "--workers", fmt.Sprint(s.workers), "--keep-runs", "0"}
	if s.pprofAddr != "" {
		args = append(args, "--pprof-addr", s.pprofAddr)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stderr = s.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ferry serve: %w", err)
	}
	s.cmd = cmd
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.stop()
		return fmt.Errorf("ferry serve did not start: %w\n%s", err, s.logs)
	}
	s.Base = strings.TrimSpace(strings.TrimPrefix(line, "ferry listening on "))
	if s.Key, err = secrets.ReadAPIKey(s.data); err != nil {
		s.stop()
		return err
	}
	return nil
}

// restart stops the server gracefully and starts it again on the same data directory.
func (s *ferryServer) restart(ctx context.Context) error {
	s.stop()
	return s.start(ctx)
}

// stop ends the server with SIGTERM and waits for it (and its workers) to exit.
func (s *ferryServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// pid is the server process's id.
func (s *ferryServer) pid() int { return s.cmd.Process.Pid }

// deploy uploads a manifest and the module file it names.
func (s *ferryServer) deploy(ctx context.Context, manifest []byte, wasmPath string) error {
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return fmt.Errorf("read plugin (run `make build` first): %w", err)
	}
	body, contentType, err := apiclient.DeployForm(manifest, filepath.Base(wasmPath), wasm, true, false)
	if err != nil {
		return err
	}
	return s.Do(ctx, http.MethodPost, "/v1/integrations", body, contentType, nil)
}

// putConnection creates a connection to the provider at baseURL.
func (s *ferryServer) putConnection(ctx context.Context, integration, id, baseURL, token string) error {
	in := map[string]any{"credentials": map[string]string{"token": token}, "base_url": baseURL}
	return s.SendJSON(ctx, http.MethodPut, "/v1/connections/"+integration+"/"+id, in, nil)
}

// putProbeConnection creates a connection of an integration that needs no credentials, with
// metadata.
func (s *ferryServer) putProbeConnection(ctx context.Context, integration, id string, metadata any) error {
	in := map[string]any{"credentials": map[string]string{}, "metadata": metadata}
	return s.SendJSON(ctx, http.MethodPut, "/v1/connections/"+integration+"/"+id, in, nil)
}

// trigger starts a run, a full resync if full, and returns its id.
func (s *ferryServer) trigger(ctx context.Context, integration, connection, sync string, full bool) (string, error) {
	var trig struct {
		RunID string `json:"run_id"`
	}
	in := map[string]any{"full_resync": full}
	err := s.SendJSON(ctx, http.MethodPost, fmt.Sprintf("/v1/syncs/%s/%s/%s/trigger", integration, connection, sync), in, &trig)
	return trig.RunID, err
}

// deleteConnection removes a connection and its records.
func (s *ferryServer) deleteConnection(ctx context.Context, integration, id string) error {
	return s.Do(ctx, http.MethodDelete, "/v1/connections/"+integration+"/"+id, nil, "", nil)
}

// run is the part of a run the benchmark reads.
type run struct {
	ID     string                    `json:"id"`
	Status string                    `json:"status"`
	Error  string                    `json:"error"`
	Counts map[string]map[string]int `json:"counts"`
	// EndedAt is when the run ended, after its records were committed (the server and the
	// benchmark share the machine's clock).
	EndedAt time.Time `json:"ended_at"`
}

// sync triggers a sync and waits until its run is committed.
func (s *ferryServer) sync(ctx context.Context, integration, connection, sync string, full bool) (run, error) {
	id, err := s.trigger(ctx, integration, connection, sync, full)
	if err != nil {
		return run{}, err
	}
	return s.wait(ctx, id, true)
}

// wait polls a run until it ends; a run that fails is an error if mustSucceed. It polls every
// 10 ms: a sync's time is taken from its run's end, not from when the poll saw it, and
// polling more often would take CPU from the run measured.
func (s *ferryServer) wait(ctx context.Context, id string, mustSucceed bool) (run, error) {
	for {
		var r run
		if err := s.Do(ctx, http.MethodGet, "/v1/runs/"+id, nil, "", &r); err != nil {
			return r, err
		}
		switch r.Status {
		case "succeeded":
			return r, nil
		case "failed", "cancelled":
			if !mustSucceed {
				return r, nil
			}
			return r, fmt.Errorf("run %s %s: %s", id, r.Status, r.Error)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logEntry is a line of a run's log.
type logEntry struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// runLog returns a run's log.
func (s *ferryServer) runLog(ctx context.Context, id string) ([]logEntry, error) {
	var out struct {
		Entries []logEntry `json:"entries"`
	}
	err := s.Do(ctx, http.MethodGet, "/v1/runs/"+id+"/log", nil, "", &out)
	return out.Entries, err
}

// processTree returns the server's pid and its worker processes' pids.
func (s *ferryServer) processTree() []int {
	pids := []int{s.pid()}
	children, _ := os.ReadFile(filepath.Join("/proc", fmt.Sprint(s.pid()), "task", fmt.Sprint(s.pid()), "children"))
	for _, f := range strings.Fields(string(children)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// tailBuffer keeps the last max bytes written to it: the server's log, shown when it fails.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
