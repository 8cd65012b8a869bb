package storage

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// unmapRead drops from the process's page tables the pages of the store's memory map that
// reads have mapped, without dropping them from the page cache.
//
// A sync reads a few pages of the file per batch (the id index's leaves, the last leaf of
// the changes), but the kernel maps up to 16 neighbouring pages already in the page cache
// with each page read ("fault-around"), whatever the map's madvise says. Those neighbours
// are mostly the records the sync has just written, so without this the server's resident
// size grows with every record it syncs, up to the size of the file. The pages stay in the
// page cache; the next read of one maps it again with a minor fault.
//
// It must run in a write transaction, before the transaction allocates: bbolt remaps the
// file only from a writer, so the map cannot move under it. Errors are ignored, since
// nothing depends on the pages being unmapped.
func unmapRead(tx *bolt.Tx) {
	if size := tx.Size(); size > 0 {
		// The map's address as bbolt gives it, a uintptr: the raw call keeps it one.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, tx.DB().Info().Data, uintptr(size), unix.MADV_DONTNEED)
	}
}
