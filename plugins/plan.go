package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferrysync/ferry/storage"
)

// DeployOptions say how [Registry.DeployPlanned] treats a new version.
type DeployOptions struct {
	// Force deploys a version whose changes are destructive (see [Diff]).
	Force bool
	// DryRun checks the plugin as a deploy would and computes its changes, storing nothing.
	DryRun bool
}

// Plan is what a deploy changes: the integration's active version before it and the changes
// the new version makes to it.
type Plan struct {
	Integration string `json:"integration"`
	// Active is the version active before the deploy; 0 when the integration is new.
	Active  int     `json:"active_version"`
	Changes Changes `json:"changes"`
	// Destructive tells whether a change is destructive, which a deploy refuses unless forced.
	Destructive bool `json:"destructive"`
}

// DeployPlanned deploys like [Registry.Deploy], after checking the plugin and comparing the new
// version with the active one. A version that removes a sync or a model the active one has is refused with a
// *[DestructiveError] (wrapping [ErrDestructive]) unless opt.Force is set; nothing is stored
// then. With opt.DryRun nothing is stored either: the plugin is checked as a deploy checks it
// (the errors of a bad plugin wrap [ErrRefused]) and the plan is returned with a zero
// Deployed, destructive or not.
//
// The comparison is with the version active when DeployPlanned starts; a deploy of the same
// integration that lands in between is not compared.
func (r *Registry) DeployPlanned(ctx context.Context, manifest, wasm []byte, opt DeployOptions) (Deployed, Plan, error) {
	m, abi, schemas, err := r.check(ctx, manifest, wasm)
	if err != nil {
		return Deployed{}, Plan{}, err
	}
	plan := Plan{Integration: m.Integration}
	var old *Manifest
	active, err := r.Active(ctx, m.Integration)
	switch {
	case err == nil:
		plan.Active, old = active.Version.Version, active.Manifest
	case errors.Is(err, storage.ErrNotFound):
	default:
		return Deployed{}, plan, fmt.Errorf("load the active version of %s to compare with: %w", m.Integration, err)
	}
	plan.Changes = Diff(old, m)
	destructive := plan.Changes.Destructive()
	plan.Destructive = len(destructive) > 0
	if opt.DryRun {
		return Deployed{}, plan, nil
	}
	if plan.Destructive && !opt.Force {
		return Deployed{}, plan, &DestructiveError{Integration: m.Integration, Active: plan.Active, Changes: destructive}
	}
	d, err := r.add(ctx, manifest, wasm, m, abi, schemas)
	return d, plan, err
}

// check runs every deploy check and returns what they produce; errors wrap ErrRefused.
func (r *Registry) check(ctx context.Context, manifest, wasm []byte) (*Manifest, ABI, *Schemas, error) {
	limit := r.MaxModuleSize
	if limit <= 0 {
		limit = DefaultMaxModuleSize
	}
	if int64(len(wasm)) > limit {
		return nil, "", nil, fmt.Errorf("%w: module of %d bytes is over the %d-byte limit", ErrRefused, len(wasm), limit)
	}
	m, err := Parse(manifest)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: ferry.yaml:\n%w", ErrRefused, err)
	}
	schemas, err := compileSchemas(m)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: ferry.yaml:\n%w", ErrRefused, err)
	}
	abi, err := CheckModule(ctx, r.rt, wasm, m)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%w: %s: %w", ErrRefused, m.Wasm, err)
	}
	return m, abi, schemas, nil
}
