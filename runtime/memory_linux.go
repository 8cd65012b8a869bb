package runtime

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// keepClear is how much of a released linear memory is zeroed in place, pages kept: the
// memory a typical instance touches. Past it, pages go back to the kernel, which zeroes them
// when they are next touched, so that a worker keeps at most this much of a call's memory.
const keepClear = 16 << 20

// memories hands wazero the linear memories of a worker's instances: each a reservation of
// the whole memory limit, so that growing never copies, made once and reused, zeroed, by the
// worker's next instance.
//
// wazero's own memories are Go slices. A Go plugin's runtime grows its memory a few times as
// it initialises, and each growth copies the whole memory into a new slice and leaves the old
// one to the collector: about half of the time of making an instance. A fresh mapping per
// instance is no better, since faulting its pages in costs more than copying. Reuse is safe
// across plugins because a released memory is zeroed before anything else sees it.
type memories struct {
	mu    sync.Mutex
	spare []*linearMemory // released, zeroed
}

// newMemories returns the allocator of a worker's linear memories.
func newMemories() experimental.MemoryAllocator { return &memories{} }

// maxSpare is how many released memories a worker keeps: it runs one call at a time, and an
// Extism instance has two memories, the plugin's and Extism's kernel's.
const maxSpare = 2

// Allocate implements experimental.MemoryAllocator.
func (ms *memories) Allocate(_, max uint64) experimental.LinearMemory {
	ms.mu.Lock()
	for i, m := range ms.spare {
		if uint64(len(m.buf)) >= max {
			ms.spare = append(ms.spare[:i], ms.spare[i+1:]...)
			ms.mu.Unlock()
			m.max = max
			return m
		}
	}
	ms.mu.Unlock()
	buf, err := unix.Mmap(-1, 0, int(max), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		// No address space for the reservation: fall back to a slice, as wazero's own memories
		// are, rather than fail the call (wazero cannot take a nil memory).
		return &sliceMemory{max: max}
	}
	return &linearMemory{owner: ms, buf: buf, max: max}
}

// A sliceMemory is a linear memory in a Go slice that grows by copying.
type sliceMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if n := uint64(len(m.buf)); size > n {
		m.buf = append(m.buf, make([]byte, size-n)...)
	}
	return m.buf[:size:size]
}

// Free implements experimental.LinearMemory; the collector takes the slice.
func (m *sliceMemory) Free() { m.buf = nil }

// A linearMemory is one reservation; the instance using it sees buf[:its size].
type linearMemory struct {
	owner *memories
	buf   []byte // the whole reservation
	max   uint64 // this instance's maximum, at most len(buf)
	used  uint64 // the largest size given out since it was zeroed
}

// Reallocate implements experimental.LinearMemory.
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil // the guest's memory.grow fails, as it should past the limit
	}
	m.used = max(m.used, size)
	return m.buf[:size:size]
}

// Free implements experimental.LinearMemory: it zeroes what the instance used and keeps the
// memory for the next instances, unmapping the oldest spare if the worker has enough.
func (m *linearMemory) Free() {
	clear(m.buf[:min(m.used, keepClear)])
	if m.used > keepClear {
		// Private anonymous pages read as zeros once dropped.
		if err := unix.Madvise(m.buf[keepClear:m.used], unix.MADV_DONTNEED); err != nil {
			_ = unix.Munmap(m.buf)
			return
		}
	}
	m.used = 0
	ms := m.owner
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if len(ms.spare) == maxSpare {
		// The latest call's memory is the likeliest to fit the next: keep it, drop the oldest.
		_ = unix.Munmap(ms.spare[0].buf)
		ms.spare = ms.spare[1:]
	}
	ms.spare = append(ms.spare, m)
}
