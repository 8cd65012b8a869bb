package plugins

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferrysync/ferry/storage"
)

// baseManifest is the version the diff tests change.
const baseManifest = `
integration: crm
wasm: plugin.wasm
provider: {base_url: https://api.example.com, auth: {type: bearer}}
syncs:
  contacts: {export: sync_contacts, models: [Contact], type: incremental, frequency: 1m}
  companies: {export: sync_companies, models: [Company], type: full, frequency: 1h}
actions:
  create-contact: {export: create_contact}
models:
  Contact: {}
  Company: {}
`

func mustParse(t *testing.T, src string) *Manifest {
	t.Helper()
	m, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", src, err)
	}
	return m
}

func TestDiff(t *testing.T) {
	base := mustParse(t, baseManifest)
	tests := []struct {
		name string
		// edit turns baseManifest's text into the new version's.
		edit        func(string) string
		want        Changes
		destructive bool
	}{
		{
			name: "identical",
			edit: func(s string) string { return s },
		},
		{
			name: "a sync added",
			edit: func(s string) string {
				return strings.Replace(s, "actions:", "  deals: {export: sync_deals, models: [Deal], type: full}\nactions:", 1) + "  Deal: {}\n"
			},
			want: Changes{
				{Kind: KindSync, Name: "deals", Change: ChangeAdded},
				{Kind: KindModel, Name: "Deal", Change: ChangeAdded},
			},
		},
		{
			name: "a sync removed, its model kept",
			edit: func(s string) string {
				return strings.Replace(s, "  companies: {export: sync_companies, models: [Company], type: full, frequency: 1h}\n", "", 1)
			},
			want: Changes{{Kind: KindSync, Name: "companies", Change: ChangeRemoved, Destructive: true,
				Reason: "its checkpoints and schedules are dropped and the records it keeps (Company) are no longer updated"}},
			destructive: true,
		},
		{
			name: "a sync and its model removed",
			edit: func(s string) string {
				s = strings.Replace(s, "  companies: {export: sync_companies, models: [Company], type: full, frequency: 1h}\n", "", 1)
				return strings.Replace(s, "  Company: {}\n", "", 1)
			},
			want: Changes{
				{Kind: KindSync, Name: "companies", Change: ChangeRemoved, Destructive: true,
					Reason: "its checkpoints and schedules are dropped and the records it keeps (Company) are no longer updated"},
				{Kind: KindModel, Name: "Company", Change: ChangeRemoved, Destructive: true, Reason: "its stored records are orphaned"},
			},
			destructive: true,
		},
		{
			name: "frequency and type changed",
			edit: func(s string) string {
				return strings.Replace(s, "type: incremental, frequency: 1m", "type: full, frequency: 5m", 1)
			},
			want: Changes{
				{Kind: KindSync, Name: "contacts", Change: ChangeType, From: "incremental", To: "full"},
				{Kind: KindSync, Name: "contacts", Change: ChangeFrequency, From: "1m", To: "5m"},
			},
		},
		{
			name: "default frequency written out changes nothing",
			edit: func(s string) string { return strings.Replace(s, "frequency: 1h", "frequency: 60m", 1) },
		},
		{
			name: "models, export and auto_start changed",
			edit: func(s string) string {
				return strings.Replace(s, "{export: sync_contacts, models: [Contact], type: incremental, frequency: 1m}",
					"{export: sync_people, models: [Contact, Lead], type: incremental, frequency: 1m, auto_start: true}", 1) + "  Lead: {}\n"
			},
			want: Changes{
				{Kind: KindSync, Name: "contacts", Change: ChangeModels, From: "Contact", To: "Contact, Lead"},
				{Kind: KindSync, Name: "contacts", Change: ChangeExport, From: "sync_contacts", To: "sync_people"},
				{Kind: KindSync, Name: "contacts", Change: ChangeAutoStart, From: "false", To: "true"},
				{Kind: KindModel, Name: "Lead", Change: ChangeAdded},
			},
		},
		{
			name: "actions removed and re-pointed are not destructive",
			edit: func(s string) string {
				return strings.Replace(s, "  create-contact: {export: create_contact}", "  update-contact: {export: update_contact}", 1)
			},
			want: Changes{
				{Kind: KindAction, Name: "create-contact", Change: ChangeRemoved},
				{Kind: KindAction, Name: "update-contact", Change: ChangeAdded},
			},
		},
		{
			name: "webhook added",
			edit: func(s string) string { return s + "webhook: {export: on_webhook}\n" },
			want: Changes{{Kind: KindWebhook, Change: ChangeAdded}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(base, mustParse(t, tt.edit(baseManifest)))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Diff:\n got %#v\nwant %#v", got, tt.want)
			}
			if d := len(got.Destructive()) > 0; d != tt.destructive {
				t.Errorf("destructive = %v, want %v", d, tt.destructive)
			}
		})
	}
}

func TestDiffFirstDeployAddsEverything(t *testing.T) {
	got := Diff(nil, mustParse(t, baseManifest))
	want := Changes{
		{Kind: KindSync, Name: "companies", Change: ChangeAdded},
		{Kind: KindSync, Name: "contacts", Change: ChangeAdded},
		{Kind: KindAction, Name: "create-contact", Change: ChangeAdded},
		{Kind: KindModel, Name: "Company", Change: ChangeAdded},
		{Kind: KindModel, Name: "Contact", Change: ChangeAdded},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff(nil, m):\n got %#v\nwant %#v", got, want)
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		c    Change
		want string
	}{
		{Change{Kind: KindSync, Name: "deals", Change: ChangeAdded}, "+ sync deals"},
		{Change{Kind: KindModel, Name: "Lead", Change: ChangeRemoved, Destructive: true, Reason: "its stored records are orphaned"},
			"- model Lead (destructive: its stored records are orphaned)"},
		{Change{Kind: KindSync, Name: "contacts", Change: ChangeFrequency, From: "1m", To: "5m"}, "~ sync contacts: frequency 1m -> 5m"},
		{Change{Kind: KindWebhook, Change: ChangeAdded}, "+ webhook"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestDeployPlanned deploys through a real registry and store: a first version, a change that
// is not destructive, a destructive one refused then forced, and dry runs that store nothing.
func TestDeployPlanned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := storage.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg, err := NewRegistry(ctx, db, filepath.Join(dir, "modules"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close(ctx)
	wasm := ferryModule("sync_contacts", "sync_companies", "create_contact").encode()
	removeCompanies := strings.Replace(baseManifest, "  companies: {export: sync_companies, models: [Company], type: full, frequency: 1h}\n", "", 1)

	steps := []struct {
		name     string
		manifest string
		opt      DeployOptions
		// wantVersion is the version deployed (0: none), wantActive the active version after.
		wantVersion, wantActive int
		wantPlan                Plan
		wantErr                 error
	}{
		{
			name: "first deploy", manifest: baseManifest, wantVersion: 1, wantActive: 1,
			wantPlan: Plan{Integration: "crm", Changes: Diff(nil, mustParse(t, baseManifest))},
		},
		{
			name: "dry run of a frequency change", manifest: strings.Replace(baseManifest, "frequency: 1m", "frequency: 2m", 1),
			opt: DeployOptions{DryRun: true}, wantActive: 1,
			wantPlan: Plan{Integration: "crm", Active: 1, Changes: Changes{
				{Kind: KindSync, Name: "contacts", Change: ChangeFrequency, From: "1m", To: "2m"}}},
		},
		{
			name: "destructive refused", manifest: removeCompanies, wantActive: 1, wantErr: ErrDestructive,
			wantPlan: Plan{Integration: "crm", Active: 1, Destructive: true, Changes: Diff(mustParse(t, baseManifest), mustParse(t, removeCompanies))},
		},
		{
			name: "destructive dry run shows it", manifest: removeCompanies, opt: DeployOptions{DryRun: true}, wantActive: 1,
			wantPlan: Plan{Integration: "crm", Active: 1, Destructive: true, Changes: Diff(mustParse(t, baseManifest), mustParse(t, removeCompanies))},
		},
		{
			name: "destructive forced", manifest: removeCompanies, opt: DeployOptions{Force: true}, wantVersion: 2, wantActive: 2,
			wantPlan: Plan{Integration: "crm", Active: 1, Destructive: true, Changes: Diff(mustParse(t, baseManifest), mustParse(t, removeCompanies))},
		},
		{
			name: "dry run of a bad manifest", manifest: baseManifest + "bogus: 1\n", opt: DeployOptions{DryRun: true},
			wantActive: 2, wantErr: ErrRefused,
		},
	}
	for _, st := range steps {
		d, plan, err := reg.DeployPlanned(ctx, []byte(st.manifest), wasm, st.opt)
		if !errors.Is(err, st.wantErr) || (err != nil) != (st.wantErr != nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if d.Version.Version != st.wantVersion {
			t.Errorf("%s: deployed version %d, want %d", st.name, d.Version.Version, st.wantVersion)
		}
		if st.wantErr != ErrRefused && !reflect.DeepEqual(plan, st.wantPlan) {
			t.Errorf("%s: plan\n got %+v\nwant %+v", st.name, plan, st.wantPlan)
		}
		active, err := reg.Active(ctx, "crm")
		if err != nil {
			t.Fatalf("%s: active: %v", st.name, err)
		}
		if active.Version.Version != st.wantActive {
			t.Errorf("%s: active version %d, want %d", st.name, active.Version.Version, st.wantActive)
		}
	}
	versions, err := db.Versions(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 {
		t.Errorf("%d versions stored, want 2 (dry runs and refusals store nothing)", len(versions))
	}
}

func TestDestructiveErrorMessage(t *testing.T) {
	err := error(&DestructiveError{Integration: "crm", Active: 3, Changes: Changes{
		{Kind: KindModel, Name: "Lead", Change: ChangeRemoved, Destructive: true, Reason: "its stored records are orphaned"}}})
	want := "deploy of crm refused: the new version makes 1 destructive change(s) to version 3; deploy with force to accept:\n- model Lead (destructive: its stored records are orphaned)"
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	if !errors.Is(err, ErrDestructive) {
		t.Error("not errors.Is ErrDestructive")
	}
}
