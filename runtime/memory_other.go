//go:build !linux

package runtime

import "github.com/tetratelabs/wazero/experimental"

// newMemories returns nil: elsewhere than on Linux, wazero makes the linear memories.
func newMemories() experimental.MemoryAllocator { return nil }
