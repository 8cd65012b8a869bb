package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestVersions(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, manifest := range []string{"v1", "v2", "v3"} {
		v, err := db.AddVersion(ctx, Version{Integration: "fakecrm", Version: 99, Manifest: []byte(manifest),
			WasmSHA256: "ab", WasmSize: 10, CreatedAt: t0.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if v.Version != i+1 {
			t.Errorf("deploy %d got version %d", i+1, v.Version)
		}
	}
	if _, err := db.AddVersion(ctx, Version{Integration: "another"}); err != nil {
		t.Fatal(err)
	}

	in, err := db.Integration(ctx, "fakecrm")
	if err != nil {
		t.Fatal(err)
	}
	if in.ActiveVersion != 3 || in.LatestVersion != 3 || !in.CreatedAt.Equal(t0) || !in.UpdatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("integration = %+v", in)
	}

	vs, err := db.Versions(ctx, "fakecrm")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("got %d versions", len(vs))
	}
	for i, v := range vs {
		if v.Version != i+1 || v.Manifest != nil || v.WasmSHA256 != "ab" || v.WasmSize != 10 {
			t.Errorf("version %d = %+v", i+1, v)
		}
	}

	if err := db.Activate(ctx, "fakecrm", 1); err != nil {
		t.Fatal(err)
	}
	av, err := db.ActiveVersion(ctx, "fakecrm")
	if err != nil || av.Version != 1 || string(av.Manifest) != "v1" {
		t.Errorf("after rollback, active = %+v, %v", av, err)
	}
	if in, _ := db.Integration(ctx, "fakecrm"); in.LatestVersion != 3 || in.ActiveVersion != 1 {
		t.Errorf("after rollback, integration = %+v", in)
	}
	// A new deploy after a rollback is numbered after the latest and becomes active.
	if v, _ := db.AddVersion(ctx, Version{Integration: "fakecrm"}); v.Version != 4 {
		t.Errorf("deploy after rollback got version %d, want 4", v.Version)
	}
	if v, err := db.Version(ctx, "fakecrm", 2); err != nil || string(v.Manifest) != "v2" {
		t.Errorf("Version 2 = %+v, %v", v, err)
	}

	ins, err := db.Integrations(ctx)
	if err != nil || len(ins) != 2 || ins[0].ID != "another" || ins[1].ID != "fakecrm" {
		t.Errorf("Integrations = %+v, %v", ins, err)
	}
}

func TestVersionsNotFound(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if _, err := db.AddVersion(ctx, Version{Integration: "fakecrm"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"integration", func() error { _, err := db.Integration(ctx, "nope"); return err }, "integration nope: not found"},
		{"versions", func() error { _, err := db.Versions(ctx, "nope"); return err }, "integration nope: not found"},
		{"version", func() error { _, err := db.Version(ctx, "fakecrm", 2); return err }, "integration fakecrm version 2: not found"},
		{"active version", func() error { _, err := db.ActiveVersion(ctx, "nope"); return err }, "integration nope: not found"},
		{"activate unknown version", func() error { return db.Activate(ctx, "fakecrm", 7) }, "integration fakecrm version 7: not found"},
		{"activate version 0", func() error { return db.Activate(ctx, "fakecrm", 0) }, "integration fakecrm version 0: not found"},
		{"activate unknown integration", func() error { return db.Activate(ctx, "nope", 1) }, "integration nope: not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrNotFound) || err.Error() != tt.want {
				t.Errorf("error = %v, want %q wrapping ErrNotFound", err, tt.want)
			}
		})
	}
	if in, _ := db.Integration(ctx, "fakecrm"); in.ActiveVersion != 1 {
		t.Errorf("failed Activate changed the active version to %d", in.ActiveVersion)
	}
}
