package benchmark

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// rssMB returns the resident memory of the processes, in MB, read from /proc.
func rssMB(pids []int) (float64, error) {
	rss, _, err := memoryMB(pids)
	return rss, err
}

// memoryMB returns the resident memory of the processes (VmRSS) and the part of it that is
// their own (RssAnon), leaving out file pages they map, such as the store's, which the kernel
// can reclaim at will.
func memoryMB(pids []int) (rss, anon float64, err error) {
	var kb, anonKB int64
	for _, pid := range pids {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			if pid == pids[0] {
				return 0, 0, fmt.Errorf("read the server's memory: %w", err)
			}
			continue // a worker that was just replaced
		}
		sc := bufio.NewScanner(bytes.NewReader(status))
		for sc.Scan() {
			for _, f := range []struct {
				name string
				sum  *int64
			}{{"VmRSS:", &kb}, {"RssAnon:", &anonKB}} {
				if v, ok := bytes.CutPrefix(sc.Bytes(), []byte(f.name)); ok {
					n, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 10, 64)
					if err != nil {
						return 0, 0, fmt.Errorf("/proc/%d/status: bad %s %q", pid, f.name, v)
					}
					*f.sum += n
				}
			}
		}
	}
	return float64(kb) / 1024, float64(anonKB) / 1024, nil
}

// peakMemory is the peak memory of the server and its workers while something ran, in MB.
type peakMemory struct{ rss, anon float64 }

// watchRSS runs fn while sampling the resident memory of the server and its workers every
// 10 ms, and returns the peaks.
func watchRSS(srv *ferryServer, fn func() error) (peakMemory, error) {
	done := make(chan struct{})
	peak := make(chan peakMemory, 1)
	go func() {
		var top peakMemory
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, anon, err := memoryMB(srv.processTree()); err == nil {
				top.rss, top.anon = max(top.rss, rss), max(top.anon, anon)
			}
			select {
			case <-done:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	err := fn()
	close(done)
	return <-peak, err
}
