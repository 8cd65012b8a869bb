package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/storage"
)

// MaxRunsLimit bounds the runs one list returns.
const MaxRunsLimit = 1000

// listRuns lists runs, newest first, filtered by integration, connection, sync and status.
func (s *Server) listRuns(c echo.Context) error {
	f := storage.RunFilter{
		Integration: c.QueryParam("integration"),
		Connection:  c.QueryParam("connection"),
		Sync:        c.QueryParam("sync"),
		Status:      c.QueryParam("status"),
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxRunsLimit {
			return invalid("limit must be a number from 1 to %d", MaxRunsLimit)
		}
		f.Limit = n
	}
	runs, err := s.cfg.Store.Runs(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []storage.Run{}
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": runs})
}

func (s *Server) getRun(c echo.Context) error {
	run, err := s.cfg.Store.Run(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

// runLog returns a run's log: plugin log lines and proxied requests, in order.
func (s *Server) runLog(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.cfg.Store.Run(ctx, c.Param("id")); err != nil {
		return err
	}
	entries, err := s.cfg.Store.RunLog(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []storage.LogEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}
