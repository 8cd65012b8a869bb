package storage

import (
	"context"
	"encoding/json"
	"testing"
)

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	key := [3]string{"fakecrm", "acme", "contacts"}
	check := func(step, want string) {
		t.Helper()
		cp, err := db.Checkpoint(ctx, key[0], key[1], key[2])
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if (want == "") != (cp == nil) || string(cp) != want {
			t.Errorf("%s: checkpoint = %q, want %q", step, cp, want)
		}
	}
	check("none", "")
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"save", func() error { return db.SaveCheckpoint(ctx, key[0], key[1], key[2], json.RawMessage(`{"page":2}`)) }, `{"page":2}`},
		{"replace", func() error { return db.SaveCheckpoint(ctx, key[0], key[1], key[2], json.RawMessage(`{"page":3}`)) }, `{"page":3}`},
		{"other sync untouched", func() error { return db.SaveCheckpoint(ctx, key[0], key[1], "deals", json.RawMessage(`{"x":1}`)) }, `{"page":3}`},
		{"clear", func() error { return db.ClearCheckpoint(ctx, key[0], key[1], key[2]) }, ""},
		{"clear again", func() error { return db.ClearCheckpoint(ctx, key[0], key[1], key[2]) }, ""},
		{"save after clear", func() error { return db.SaveCheckpoint(ctx, key[0], key[1], key[2], json.RawMessage(`{"page":1}`)) }, `{"page":1}`},
		{"save empty clears", func() error { return db.SaveCheckpoint(ctx, key[0], key[1], key[2], nil) }, ""},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		check(st.name, st.want)
	}
	if cp, _ := db.Checkpoint(ctx, key[0], key[1], "deals"); string(cp) != `{"x":1}` {
		t.Errorf("deals checkpoint = %s", cp)
	}
	if err := db.ClearCheckpoint(ctx, "none", "none", "none"); err != nil {
		t.Errorf("clearing a checkpoint of an unknown connection: %v", err)
	}
}

func TestPaused(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	for i, paused := range []bool{true, true, false, true} {
		if err := db.SetPaused(ctx, "fakecrm", "acme", "contacts", paused); err != nil {
			t.Fatal(err)
		}
		st, err := db.SyncState(ctx, "fakecrm", "acme", "contacts")
		if err != nil || st.Paused != paused || st.LastRunID != "" {
			t.Errorf("step %d: %+v, %v", i, st, err)
		}
	}
}
