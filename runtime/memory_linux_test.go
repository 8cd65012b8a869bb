package runtime

import (
	"testing"
	"unsafe"
)

// A memory released by one instance is reused by the next, and that instance sees only
// zeros, whatever the last one wrote and wherever: the worker runs plugins of different
// integrations one after the other.
func TestMemoriesAreReusedZeroed(t *testing.T) {
	const max = 64 << 20
	ms := newMemories()
	tests := []struct {
		name string
		used uint64 // how far the first instance grows and writes
	}{
		{"within the part zeroed in place", 1 << 20},
		{"past it", keepClear + 3<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := ms.Allocate(0, max)
			buf := first.Reallocate(tt.used)
			if uint64(len(buf)) != tt.used {
				t.Fatalf("Reallocate(%d) gave %d bytes", tt.used, len(buf))
			}
			for _, off := range []uint64{0, 4095, tt.used / 2, tt.used - 1} {
				buf[off] = 0xa5
			}
			addr := unsafe.SliceData(buf)
			first.Free()

			next := ms.Allocate(0, max)
			defer next.Free()
			again := next.Reallocate(tt.used)
			if unsafe.SliceData(again) != addr {
				t.Errorf("the released memory was not reused")
			}
			for i, b := range again {
				if b != 0 {
					t.Fatalf("byte %d of the reused memory is %#x, want 0", i, b)
				}
			}
		})
	}
}

// A memory never grows past the maximum of the instance using it, even when the
// reservation it reuses is larger.
func TestMemoryStopsAtItsMaximum(t *testing.T) {
	ms := newMemories()
	big := ms.Allocate(0, 8<<20)
	big.Free()
	small := ms.Allocate(0, 1<<20)
	defer small.Free()
	if got := small.Reallocate(1 << 20); len(got) != 1<<20 {
		t.Fatalf("Reallocate to the maximum gave %d bytes", len(got))
	}
	if got := small.Reallocate(1<<20 + 64<<10); got != nil {
		t.Errorf("Reallocate past the maximum gave %d bytes, want nil", len(got))
	}
}

// A memory that cannot be reserved (no address space for it) still works, as a slice.
func TestSliceMemory(t *testing.T) {
	if _, ok := newMemories().Allocate(0, 1<<62).(*sliceMemory); !ok {
		t.Fatal("a reservation larger than the address space did not fall back to a slice")
	}
	m := sliceMemory{max: 1 << 20}
	buf := m.Reallocate(64 << 10)
	buf[100] = 7
	if grown := m.Reallocate(128 << 10); len(grown) != 128<<10 || grown[100] != 7 {
		t.Fatalf("grown to %d bytes, byte 100 = %d; want 131072 bytes keeping 7", len(grown), grown[100])
	}
	if m.Reallocate(2<<20) != nil {
		t.Error("Reallocate past the maximum succeeded")
	}
	m.Free()
}
