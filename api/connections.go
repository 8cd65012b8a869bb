package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/storage"
)

// putConnection creates or updates a connection from {"credentials": {...}, "metadata": {...},
// "base_url": "..."}; left-out fields keep their values. Credentials are never returned.
func (s *Server) putConnection(c echo.Context) error {
	var req connections.Put
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	conn, created, err := s.cfg.Connections.Put(c.Request().Context(), c.Param("integration"), c.Param("connection"), req)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, conn)
}

func (s *Server) getConnection(c echo.Context) error {
	conn, err := s.cfg.Store.Connection(c.Request().Context(), c.Param("integration"), c.Param("connection"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

func (s *Server) listConnections(c echo.Context) error {
	list, err := s.cfg.Store.Connections(c.Request().Context(), c.QueryParam("integration"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []storage.Connection{}
	}
	return c.JSON(http.StatusOK, map[string]any{"connections": list})
}

// deleteConnection removes a connection with its records, checkpoints and sync states.
func (s *Server) deleteConnection(c echo.Context) error {
	ctx := c.Request().Context()
	integration, id := c.Param("integration"), c.Param("connection")
	if _, err := s.cfg.Store.Connection(ctx, integration, id); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteConnection(ctx, integration, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
