// Package workerbin builds the ferry binary for tests that run real worker processes. The
// binary is built without the race detector whatever the tests use: workers compile modules
// with wazero, which the detector slows tenfold, and the protocol's server side, which the
// tests exercise, stays under it.
package workerbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the ferry command into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/ferrysync/ferry/cli/ferry")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the ferry binary for workers: %w", err)
	}
	return bin, nil
}

// Worker is a built ferry binary and a compilation cache its workers share, so a package's
// tests compile each module once.
type Worker struct {
	Bin      string
	CacheDir string
}

// Command starts a worker that uses the shared cache.
func (w Worker) Command() []string { return []string{w.Bin, "worker", "--cache", w.CacheDir} }

// Main builds the binary into a temporary directory, fills in *w, runs the tests and removes
// the directory; a package's TestMain calls it as os.Exit(workerbin.Main(m, &worker)).
func Main(m interface{ Run() int }, w *Worker) int {
	// A fuzzing run starts the test binary again as its workers, with this environment:
	// they use the binary the first process built.
	if dir := os.Getenv(sharedDirEnv); dir != "" {
		w.Bin, w.CacheDir = filepath.Join(dir, "ferry"), filepath.Join(dir, "cache")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ferry-workerbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if w.Bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w.CacheDir = filepath.Join(dir, "cache")
	os.Setenv(sharedDirEnv, dir)
	defer os.Unsetenv(sharedDirEnv)
	return m.Run()
}

// sharedDirEnv names the directory of a binary built by a parent test process.
const sharedDirEnv = "FERRY_TEST_WORKERBIN_DIR"
