package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/storage"
)

// linkScope is the connection and model a links route names, checked to exist.
func (s *Server) linkScope(c echo.Context) (storage.Scope, error) {
	scope := storage.Scope{Integration: c.Param("integration"), Connection: c.Param("connection"), Model: c.Param("model")}
	ctx := c.Request().Context()
	d, err := s.cfg.Plugins.Active(ctx, scope.Integration)
	if err != nil {
		return scope, err
	}
	if _, ok := d.Manifest.Models[scope.Model]; !ok {
		return scope, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "model " + scope.Model + " is not in " + scope.Integration}
	}
	if _, err := s.cfg.Store.Connection(ctx, scope.Integration, scope.Connection); err != nil {
		return scope, err
	}
	return scope, nil
}

// putLink links an app id to an external id: {"external_id": "..."} → the link.
func (s *Server) putLink(c echo.Context) error {
	var req struct {
		ExternalID string `json:"external_id"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ExternalID == "" {
		return invalid(`a link needs {"external_id": "..."}`)
	}
	scope, err := s.linkScope(c)
	if err != nil {
		return err
	}
	l := storage.Link{AppID: c.Param("app_id"), ExternalID: req.ExternalID, UpdatedAt: time.Now()}
	if err := s.cfg.Store.PutLink(c.Request().Context(), scope, l); err != nil {
		return err
	}
	return s.getLink(c)
}

func (s *Server) getLink(c echo.Context) error {
	scope, err := s.linkScope(c)
	if err != nil {
		return err
	}
	l, err := s.cfg.Store.LinkByApp(c.Request().Context(), scope, c.Param("app_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// findLink looks a link up by ?external_id=.
func (s *Server) findLink(c echo.Context) error {
	ext := c.QueryParam("external_id")
	if ext == "" {
		return invalid("looking a link up needs ?external_id=")
	}
	scope, err := s.linkScope(c)
	if err != nil {
		return err
	}
	l, err := s.cfg.Store.LinkByExternal(c.Request().Context(), scope, ext)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func (s *Server) deleteLink(c echo.Context) error {
	scope, err := s.linkScope(c)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteLink(c.Request().Context(), scope, c.Param("app_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
