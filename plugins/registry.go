package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/ferrysync/ferry/internal/wasmdata"
	"github.com/ferrysync/ferry/storage"
)

// ErrRefused is wrapped by every error Deploy returns for a plugin it will not take: a bad
// manifest, a bad module, one over the size limit. Nothing is stored then.
var ErrRefused = errors.New("deploy refused")

// DefaultMaxModuleSize bounds an uploaded module.
const DefaultMaxModuleSize = 64 << 20

// VersionStore is what a Registry needs from the store.
type VersionStore interface {
	AddVersion(ctx context.Context, v storage.Version) (storage.Version, error)
	Version(ctx context.Context, integration string, version int) (storage.Version, error)
	ActiveVersion(ctx context.Context, integration string) (storage.Version, error)
}

// Deployed is one version of an integration, ready to run.
type Deployed struct {
	Version  storage.Version
	Manifest *Manifest
	// ModulePath is the module's file; its name is its SHA-256, so it never changes.
	ModulePath string
	ABI        ABI
	// Schemas are the manifest's JSON Schemas, compiled.
	Schemas *Schemas
}

// Registry keeps deployed plugins: versions in the store, modules as content-addressed files
// in a directory. Parsed manifests are cached, since versions are immutable. A Registry is safe
// for concurrent use.
type Registry struct {
	store VersionStore
	dir   string
	rt    wazero.Runtime
	// MaxModuleSize bounds an uploaded module; DefaultMaxModuleSize if zero.
	MaxModuleSize int64

	mu     sync.Mutex
	loaded map[versionKey]Deployed
}

type versionKey struct {
	integration string
	version     int
}

// NewRegistry returns a Registry keeping modules in dir. Modules are checked by compiling them
// with cache, so a worker sharing the cache finds them compiled.
func NewRegistry(ctx context.Context, store VersionStore, dir string, cache wazero.CompilationCache) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create module directory: %w", err)
	}
	cfg := wazero.NewRuntimeConfig()
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	return &Registry{
		store:  store,
		dir:    dir,
		rt:     wazero.NewRuntimeWithConfig(ctx, cfg),
		loaded: make(map[versionKey]Deployed),
	}, nil
}

// Close releases the registry's compiler.
func (r *Registry) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// Deploy checks a manifest and its module and stores them as the integration's next version,
// which becomes active. On any refusal (wrapping ErrRefused) nothing is stored.
func (r *Registry) Deploy(ctx context.Context, manifest, wasm []byte) (Deployed, error) {
	m, abi, schemas, err := r.check(ctx, manifest, wasm)
	if err != nil {
		return Deployed{}, err
	}
	return r.add(ctx, manifest, wasm, m, abi, schemas)
}

// add stores a checked plugin as the integration's new active version.
func (r *Registry) add(ctx context.Context, manifest, wasm []byte, m *Manifest, abi ABI, schemas *Schemas) (Deployed, error) {
	sum := sha256.Sum256(wasm)
	id := hex.EncodeToString(sum[:])
	path := filepath.Join(r.dir, id+".wasm")
	// The file goes first: a version is only ever stored once its module is on disk. A crash
	// in between leaves an unreferenced file, never a version without its module.
	if err := writeFileAtomic(path, wasm); err != nil {
		return Deployed{}, fmt.Errorf("store module of %s: %w", m.Integration, err)
	}
	v, err := r.store.AddVersion(ctx, storage.Version{
		Integration: m.Integration,
		Manifest:    manifest,
		WasmSHA256:  id,
		WasmSize:    int64(len(wasm)),
		ABI:         string(abi),
	})
	if err != nil {
		return Deployed{}, fmt.Errorf("store version of %s: %w", m.Integration, err)
	}
	d := Deployed{Version: v, Manifest: m, ModulePath: path, ABI: abi, Schemas: schemas}
	r.remember(d)
	return d, nil
}

// Active returns the integration's active version.
func (r *Registry) Active(ctx context.Context, integration string) (Deployed, error) {
	v, err := r.store.ActiveVersion(ctx, integration)
	if err != nil {
		return Deployed{}, err
	}
	return r.load(ctx, v)
}

// Get returns one version of an integration.
func (r *Registry) Get(ctx context.Context, integration string, version int) (Deployed, error) {
	r.mu.Lock()
	d, ok := r.loaded[versionKey{integration, version}]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	v, err := r.store.Version(ctx, integration, version)
	if err != nil {
		return Deployed{}, err
	}
	return r.load(ctx, v)
}

func (r *Registry) load(ctx context.Context, v storage.Version) (Deployed, error) {
	r.mu.Lock()
	d, ok := r.loaded[versionKey{v.Integration, v.Version}]
	r.mu.Unlock()
	if ok {
		return d, nil
	}
	if v.Manifest == nil { // ActiveVersion may leave it out
		full, err := r.store.Version(ctx, v.Integration, v.Version)
		if err != nil {
			return Deployed{}, err
		}
		v = full
	}
	m, err := Parse(v.Manifest)
	if err != nil {
		return Deployed{}, fmt.Errorf("%s version %d: stored manifest no longer parses: %w", v.Integration, v.Version, err)
	}
	path := filepath.Join(r.dir, v.WasmSHA256+".wasm")
	if _, err := os.Stat(path); err != nil {
		return Deployed{}, fmt.Errorf("%s version %d: module file: %w", v.Integration, v.Version, err)
	}
	// The ABI is a property of the module, kept since deploy; a version stored before it was
	// kept learns it from the module's imports, which costs a compilation.
	abi := ABI(v.ABI)
	if abi == "" {
		var err error
		if abi, err = moduleABI(ctx, r.rt, path); err != nil {
			return Deployed{}, fmt.Errorf("%s version %d: %w", v.Integration, v.Version, err)
		}
	}
	schemas, err := compileSchemas(m)
	if err != nil {
		return Deployed{}, fmt.Errorf("%s version %d: %w", v.Integration, v.Version, err)
	}
	d = Deployed{Version: v, Manifest: m, ModulePath: path, ABI: abi, Schemas: schemas}
	r.remember(d)
	return d, nil
}

func (r *Registry) remember(d Deployed) {
	r.mu.Lock()
	r.loaded[versionKey{d.Version.Integration, d.Version.Version}] = d
	r.mu.Unlock()
}

// moduleABI tells which ABI a stored module speaks.
func moduleABI(ctx context.Context, rt wazero.Runtime, path string) (ABI, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	cm, err := rt.CompileModule(ctx, wasmdata.Coalesce(wasm)) // as CheckModule did: cached
	if err != nil {
		return "", err
	}
	defer cm.Close(ctx)
	for _, imp := range cm.ImportedFunctions() {
		if mod, _, _ := imp.Import(); mod == ExtismEnvModule {
			return ABIExtism, nil
		}
	}
	return ABIFerry, nil
}

// writeFileAtomic writes data to path through a synced temporary file, so path holds either
// nothing or all of data.
func writeFileAtomic(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil // content-addressed: already there means already right
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".module-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
