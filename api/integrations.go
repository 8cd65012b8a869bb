package api

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

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
}

func newDeployResponse(d plugins.Deployed) deployResponse {
	return deployResponse{Integration: d.Version.Integration, Version: d.Version.Version, WasmSHA256: d.Version.WasmSHA256,
		WasmSize: d.Version.WasmSize, ABI: d.ABI, Manifest: d.Manifest}
}

// deploy takes a multipart upload with the parts "manifest" (ferry.yaml) and "wasm".
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
	d, err := s.cfg.Plugins.Deploy(c.Request().Context(), manifest, wasm)
	if err != nil {
		return err
	}
	s.log.Info("deployed", "integration", d.Version.Integration, "version", d.Version.Version, "wasm_sha256", d.Version.WasmSHA256)
	return c.JSON(http.StatusCreated, newDeployResponse(d))
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
