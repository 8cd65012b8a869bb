package storage

import (
	"os"
	"testing"
)

// The store keeps a reserve file beside the database, and gives it up when asked once.
func TestReserve(t *testing.T) {
	db, path := openTest(t)
	info, err := os.Stat(path + ReserveSuffix)
	if err != nil || info.Size() != reserveSize {
		t.Fatalf("reserve file: %v, %v", info, err)
	}
	if !db.reserve.release() {
		t.Fatal("release found no reserve")
	}
	if _, err := os.Stat(path + ReserveSuffix); !os.IsNotExist(err) {
		t.Fatalf("reserve file after release: %v", err)
	}
	if db.reserve.release() {
		t.Fatal("released the reserve twice")
	}
}
