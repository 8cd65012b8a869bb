package webhooks

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := NewSender(nil, nil, nil)
	tests := []struct {
		attempts int
		want     time.Duration // before jitter
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{10, 512 * time.Second},
		{12, 2048 * time.Second},
		{13, time.Hour}, // 4096s, capped
		{40, time.Hour},
		{1000, time.Hour},
	}
	for _, tt := range tests {
		lo, hi := time.Duration(float64(tt.want)*0.8), time.Duration(float64(tt.want)*1.2)
		seen := map[time.Duration]bool{}
		for range 200 {
			got := s.backoff(tt.attempts)
			if got < lo || got > hi {
				t.Fatalf("backoff after %d attempts = %v, want %v ±20%%", tt.attempts, got, tt.want)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff after %d attempts is always %v: no jitter", tt.attempts, tt.want)
		}
	}
}
