//go:build !linux

package storage

import bolt "go.etcd.io/bbolt"

// unmapRead does nothing here: the kernels Ferry is measured on are Linux ones.
func unmapRead(*bolt.Tx) {}
