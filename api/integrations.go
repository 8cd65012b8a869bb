package api

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
)

// deployResponse describes a new version.
type deployResponse struct {
	Integration string            `json:"integration"`
	Version     int               `json:"version"`
	WasmSHA256  string            `json:"wasm_sha256"`
	WasmSize    int64             `json:"wasm_size"`
	ABI         plugins.ABI       `json:"abi"`
	Manifest    *plugins.Manifest `json:"manifest"`
	// Changes are what a deploy changed against the version active before it.
	Changes plugins.Changes `json:"changes,omitempty"`
}

// CodeDestructive is the error code of a deploy refused because it removes a sync or a model
// (409); the form field force=true accepts it.
const CodeDestructive = "destructive_change"

func newDeployResponse(d plugins.Deployed) deployResponse {
	return deployResponse{Integration: d.Version.Integration, Version: d.Version.Version, WasmSHA256: d.Version.WasmSHA256,
		WasmSize: d.Version.WasmSize, ABI: d.ABI, Manifest: d.Manifest}
}

// deploy takes a multipart upload with the parts "manifest" (ferry.yaml) and "wasm", and the
// optional fields "force" (accept destructive changes) and "dry_run" (check and compare with
// the active version, store nothing: 200 with the plugins.Plan).
func (s *Server) deploy(c echo.Context) error {
	form, err := c.MultipartForm()
	if err != nil {
		var maxBytes *http.MaxBytesError
		if errors.As(err, &maxBytes) {
			return err
		}
		return invalid("deploy needs a multipart/form-data body with parts manifest and wasm: %v", err)
	}
	manifest, err := formPart(form, "manifest")
	if err != nil {
		return err
	}
	wasm, err := formPart(form, "wasm")
	if err != nil {
		return err
	}
	var opt plugins.DeployOptions
	if opt.Force, err = formBool(form, "force"); err != nil {
		return err
	}
	if opt.DryRun, err = formBool(form, "dry_run"); err != nil {
		return err
	}
	d, plan, err := s.cfg.Plugins.DeployPlanned(c.Request().Context(), manifest, wasm, opt)
	if errors.Is(err, plugins.ErrDestructive) {
		return &Error{Status: http.StatusConflict, Code: CodeDestructive, Message: err.Error()}
	}
	if err != nil {
		return err
	}
	if opt.DryRun {
		return c.JSON(http.StatusOK, plan)
	}
	s.log.Info("deployed", "integration", d.Version.Integration, "version", d.Version.Version, "wasm_sha256", d.Version.WasmSHA256)
	resp := newDeployResponse(d)
	resp.Changes = plan.Changes
	return c.JSON(http.StatusCreated, resp)
}

// formPart returns a part of a multipart form, as a file or as a plain value.
func formPart(form *multipart.Form, name string) ([]byte, error) {
	if files := form.File[name]; len(files) > 0 {
		f, err := files[0].Open()
		if err != nil {
			return nil, fmt.Errorf("open part %s: %w", name, err)
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	if values := form.Value[name]; len(values) > 0 {
		return []byte(values[0]), nil
	}
	return nil, invalid("deploy: missing part %q", name)
}

// formBool reads an optional boolean field of a multipart form; absent is false.
func formBool(form *multipart.Form, name string) (bool, error) {
	values := form.Value[name]
	if len(values) == 0 || values[0] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(values[0])
	if err != nil {
		return false, invalid("deploy: field %s must be true or false, not %q", name, values[0])
	}
	return b, nil
}

func (s *Server) listIntegrations(c echo.Context) error {
	list, err := s.cfg.Store.Integrations(c.Request().Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []storage.Integration{}
	}
	return c.JSON(http.StatusOK, map[string]any{"integrations": list})
}

func (s *Server) getIntegration(c echo.Context) error {
	ctx := c.Request().Context()
	in, err := s.cfg.Store.Integration(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d, err := s.cfg.Plugins.Active(ctx, in.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		storage.Integration
		Active deployResponse `json:"active"`
	}{in, newDeployResponse(d)})
}

func (s *Server) listVersions(c echo.Context) error {
	versions, err := s.cfg.Store.Versions(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"versions": versions})
}

// rollback makes an earlier (or any existing) version active: {"version": N}.
func (s *Server) rollback(c echo.Context) error {
	var req struct {
		Version int `json:"version"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return invalid(`rollback needs {"version": N} with N >= 1`)
	}
	ctx := c.Request().Context()
	if err := s.cfg.Store.Activate(ctx, c.Param("id"), req.Version); err != nil {
		return err
	}
	return s.getIntegration(c)
}
