package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		floor, live uint64
		want        int
	}{
		{floor: 100 * mib, live: 20 * mib, want: 400},
		{floor: 100 * mib, live: 40 * mib, want: 150},
		{floor: 100 * mib, live: 50 * mib, want: 100},
		{floor: 100 * mib, live: 500 * mib, want: 100},
		{floor: 100 * mib, live: mib, want: maxPercent},
		{floor: 100 * mib, live: 0, want: 100},
	}
	for _, tt := range tests {
		if got := percent(tt.floor, tt.live); got != tt.want {
			t.Errorf("percent(%d MiB, %d MiB) = %d, want %d", tt.floor/mib, tt.live/mib, got, tt.want)
		}
	}
}

// TestStart checks that the tuner sets GOGC at once and after every collection, and that
// stop restores the default.
func TestStart(t *testing.T) {
	t.Setenv("GOGC", "") // set, so Start must leave GOGC alone
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC = %d before the test", got)
	}
	Start(1 << 40)()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set in the environment, Start set GOGC to %d", got)
	}

	t.Run("unset", func(t *testing.T) {
		unsetenv(t, "GOGC")
		runtime.GC()           // so that the live heap is known
		stop := Start(1 << 40) // far above this test's heap: the cap applies
		defer stop()
		if got := debug.SetGCPercent(1); got != maxPercent {
			t.Errorf("GOGC = %d after Start, want %d", got, maxPercent)
		}
		// The next collections set it back; the tuner may need one to see its cleanup run.
		for i := 0; debug.SetGCPercent(1) != maxPercent; i++ {
			if i == 100 {
				t.Fatal("no collection reset GOGC")
			}
			runtime.GC()
			runtime.Gosched()
		}
		stop()
		runtime.GC()
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("GOGC = %d after stop, want 100", got)
		}
	})
}

// unsetenv unsets key for the test and restores it after.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	old, had := os.LookupEnv(key)
	os.Unsetenv(key)
	t.Cleanup(func() {
		if had {
			os.Setenv(key, old)
		}
	})
}
