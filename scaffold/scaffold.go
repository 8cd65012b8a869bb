// Package scaffold writes new plugin projects, as `ferry init` does: a manifest, source with
// one incremental sync and one action against Ferry's example provider, a build, a test of the
// sync against recorded HTTP exchanges, and a README, for Go or Rust. A project builds and
// deploys as written.
//
// The projects are templates embedded in the binary (templates/LANG). A file whose name ends
// in .tmpl is a text/template executed with [Project]'s fields, written without the suffix;
// other files are copied as they are. "gitignore" becomes ".gitignore".
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Languages a project can be written in.
const (
	Go   = "go"
	Rust = "rust"
)

// Languages lists the languages Create knows.
var Languages = []string{Go, Rust}

//go:embed all:templates
var templates embed.FS

// Project is what the templates are executed with.
type Project struct {
	// Integration is the manifest's integration id, made from the directory's name.
	Integration string
	// GoModule is the Go module path (Go projects).
	GoModule string
	// Crate is the Rust package name (Rust projects).
	Crate string
	// SDK is the absolute path of the guest SDK the project builds against.
	SDK string
}

// ErrExists is returned by Create when the project's directory exists and is not empty.
var ErrExists = errors.New("directory exists and is not empty")

// Create writes a new project in lang to dir, which must not exist or be empty, building
// against the guest SDK in sdk (sdk-guest/go or sdk-guest/rust of a Ferry checkout). dir's
// base name makes the integration id. It returns the files written, relative to dir, sorted.
// On error, what was written stays.
func Create(lang, dir, sdk string) ([]string, error) {
	if !slices.Contains(Languages, lang) {
		return nil, fmt.Errorf("init: unknown language %q (want one of %s)", lang, strings.Join(Languages, ", "))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if sdk, err = filepath.Abs(sdk); err != nil {
		return nil, err
	}
	if info, err := os.Stat(sdk); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("init: the %s SDK directory %s: not found", lang, sdk)
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("init: %s: %w", dir, ErrExists)
	}
	id, err := IntegrationID(filepath.Base(abs))
	if err != nil {
		return nil, err
	}
	p := Project{Integration: id, GoModule: id, Crate: strings.ReplaceAll(id, "-", "_"), SDK: filepath.ToSlash(sdk)}

	root := path.Join("templates", lang)
	var written []string
	err = fs.WalkDir(templates, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, root+"/")
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			if data, err = execute(name, data, p); err != nil {
				return err
			}
		}
		if base := path.Base(rel); base == "gitignore" {
			rel = path.Join(path.Dir(rel), ".gitignore")
		}
		out := filepath.Join(abs, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(out, data, mode); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	})
	if err != nil {
		return written, fmt.Errorf("init: write %s: %w", dir, err)
	}
	slices.Sort(written)
	return written, nil
}

func execute(name string, text []byte, p Project) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var (
	notID   = regexp.MustCompile(`[^a-z0-9-]+`)
	validID = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
)

// IntegrationID makes an integration id ([a-z0-9-], starting with a letter, at most 63
// characters) of a project's name: lower case, other characters turned into "-".
func IntegrationID(name string) (string, error) {
	id := strings.Trim(notID.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if !validID.MatchString(id) {
		return "", fmt.Errorf("init: %q makes no integration id (want letters, digits and dashes, starting with a letter, at most 63)", name)
	}
	return id, nil
}
