package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// triggerSync starts a run now: {"full_resync": bool, "force": bool} → {"run_id": ..., "status": ...}.
// force lets a full run delete more than the sync's delete threshold.
func (s *Server) triggerSync(c echo.Context) error {
	var req struct {
		FullResync bool `json:"full_resync"`
		Force      bool `json:"force"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	run, err := s.cfg.Runner.Trigger(c.Request().Context(), c.Param("integration"), c.Param("connection"), c.Param("sync"),
		syncs.TriggerOptions{Trigger: syncs.TriggerManual, Full: req.FullResync, Force: req.Force})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"run_id": run.ID, "status": run.Status})
}

// syncStatusResponse is a sync's state for one connection.
type syncStatusResponse struct {
	Integration string   `json:"integration"`
	Connection  string   `json:"connection"`
	Sync        string   `json:"sync"`
	Type        string   `json:"type"`
	Models      []string `json:"models"`
	Frequency   string   `json:"frequency"`
	AutoStart   bool     `json:"auto_start"`
	// State is "scheduled" (runs at its frequency), "paused" (taken off its schedule) or
	// "manual" (not auto_start and never started: runs only when triggered).
	State         string          `json:"state"`
	Scheduled     bool            `json:"scheduled"`
	Paused        bool            `json:"paused"`
	NextRunAt     *time.Time      `json:"next_run_at"`
	LastSuccessAt *time.Time      `json:"last_success_at"`
	LastRun       *storage.Run    `json:"last_run"`
	HasCheckpoint bool            `json:"has_checkpoint"`
	Checkpoint    json.RawMessage `json:"checkpoint"`
}

// findSync checks that a sync and a connection exist and returns the sync's definition.
func (s *Server) findSync(c echo.Context) (plugins.Sync, error) {
	ctx := c.Request().Context()
	integration, connection, name := c.Param("integration"), c.Param("connection"), c.Param("sync")
	d, err := s.cfg.Plugins.Active(ctx, integration)
	if err != nil {
		return plugins.Sync{}, err
	}
	def, ok := d.Manifest.Syncs[name]
	if !ok {
		return plugins.Sync{}, &Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: fmt.Sprintf("no sync %q in %s (it has %v)", name, integration, d.Manifest.SyncNames())}
	}
	if _, err := s.cfg.Store.Connection(ctx, integration, connection); err != nil {
		return plugins.Sync{}, err
	}
	return def, nil
}

// pauseSync takes a sync of a connection off its schedule; startSync puts it on, whatever
// the manifest's auto_start says. Both answer with the sync's status.
func (s *Server) pauseSync(c echo.Context) error { return s.setPaused(c, true) }

func (s *Server) startSync(c echo.Context) error { return s.setPaused(c, false) }

func (s *Server) setPaused(c echo.Context, paused bool) error {
	if _, err := s.findSync(c); err != nil {
		return err
	}
	if err := s.cfg.Store.SetPaused(c.Request().Context(), c.Param("integration"), c.Param("connection"), c.Param("sync"), paused); err != nil {
		return err
	}
	return s.syncStatus(c)
}

func (s *Server) syncStatus(c echo.Context) error {
	ctx := c.Request().Context()
	integration, connection, name := c.Param("integration"), c.Param("connection"), c.Param("sync")
	def, err := s.findSync(c)
	if err != nil {
		return err
	}
	state, err := s.cfg.Store.SyncState(ctx, integration, connection, name)
	if err != nil {
		return err
	}
	cp, err := s.cfg.Store.Checkpoint(ctx, integration, connection, name)
	if err != nil {
		return err
	}
	resp := syncStatusResponse{Integration: integration, Connection: connection, Sync: name, Type: def.Type,
		Models: def.Models, Frequency: def.Frequency.String(), AutoStart: def.AutoStart,
		Scheduled: state.Scheduled(def.AutoStart), Paused: state.Paused,
		HasCheckpoint: cp != nil, Checkpoint: cp}
	switch {
	case resp.Scheduled:
		resp.State = "scheduled"
	case state.Paused:
		resp.State = "paused"
	default:
		resp.State = "manual"
	}
	if resp.Scheduled && !state.NextRunAt.IsZero() {
		resp.NextRunAt = &state.NextRunAt
	}
	if resp.Checkpoint == nil {
		resp.Checkpoint = json.RawMessage("null")
	}
	if !state.LastSuccessAt.IsZero() {
		resp.LastSuccessAt = &state.LastSuccessAt
	}
	if state.LastRunID != "" {
		run, err := s.cfg.Store.Run(ctx, state.LastRunID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err == nil {
			resp.LastRun = &run
		}
	}
	return c.JSON(http.StatusOK, resp)
}
