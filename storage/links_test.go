package storage

import (
	"context"
	"errors"
	"testing"
)

func TestLinks(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t)
	s := Scope{"fakecrm", "acme", "Contact"}
	put := func(app, ext string) {
		t.Helper()
		if err := db.PutLink(ctx, s, Link{AppID: app, ExternalID: ext, UpdatedAt: t1}); err != nil {
			t.Fatal(err)
		}
	}
	put("u1", "c-1")
	put("u2", "c-2")
	put("u1", "c-3") // u1 moves: c-1 is unpaired
	put("u3", "c-2") // c-2 moves: u2 is unpaired
	tests := []struct {
		app, ext string // a lookup by app (ext empty) or by ext (app empty)
		want     string
	}{
		{app: "u1", want: "c-3"},
		{app: "u3", want: "c-2"},
		{app: "u2"},
		{ext: "c-3", want: "u1"},
		{ext: "c-2", want: "u3"},
		{ext: "c-1"},
	}
	for _, tt := range tests {
		var l Link
		var err error
		got := ""
		if tt.app != "" {
			l, err = db.LinkByApp(ctx, s, tt.app)
			got = l.ExternalID
		} else {
			l, err = db.LinkByExternal(ctx, s, tt.ext)
			got = l.AppID
		}
		if tt.want == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("lookup %+v: %+v, %v; want not found", tt, l, err)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("lookup %+v: %+v, %v; want %s", tt, l, err, tt.want)
		}
	}
	if err := db.DeleteLink(ctx, s, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LinkByExternal(ctx, s, "c-3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("external id still linked after delete: %v", err)
	}
	if err := db.DeleteLink(ctx, s, "u1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if err := db.PutLink(ctx, Scope{"fakecrm", "nobody", "Contact"}, Link{AppID: "a", ExternalID: "b"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("link for a missing connection: %v", err)
	}
	if err := db.DeleteConnection(ctx, "fakecrm", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LinkByApp(ctx, s, "u3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("links outlive their connection: %v", err)
	}
}
