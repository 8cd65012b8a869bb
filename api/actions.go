package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// callAction runs an action with the request body as its JSON input ({} if empty).
// Synchronously, it answers the action's output as the body, with the call's id in
// X-Ferry-Call-Id. With ?async=true it answers 202 {"id","status"} at once; the result is read
// with GET /v1/actions/calls/{id}, failed attempts are retried up to ?max_attempts (default
// 3), and the app gets an action.completed or action.failed webhook.
func (s *Server) callAction(c echo.Context) error {
	input, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = []byte("{}")
	}
	if !json.Valid(input) {
		return invalid("the action's input must be JSON")
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, input)
	input = compact.Bytes()
	ctx := c.Request().Context()
	integration, connection, action := c.Param("integration"), c.Param("connection"), c.Param("action")
	if async, _ := strconv.ParseBool(c.QueryParam("async")); async {
		max := 0
		if v := c.QueryParam("max_attempts"); v != "" {
			if max, err = strconv.Atoi(v); err != nil || max < 1 || max > 100 {
				return invalid("max_attempts must be a number from 1 to 100")
			}
		}
		call, err := s.cfg.Runner.EnqueueAction(ctx, integration, connection, action, input, max)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, map[string]string{"id": call.ID, "status": call.Status})
	}
	call, err := s.cfg.Runner.Invoke(ctx, syncs.Invocation{
		Kind: storage.KindAction, Integration: integration, Connection: connection, Name: action, Input: input,
	})
	if call.ID != "" {
		c.Response().Header().Set("X-Ferry-Call-Id", call.ID)
	}
	if err != nil {
		return err
	}
	out := call.Output
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, out)
}

// getActionCall returns an action call by id: its status, attempts, input, output or error.
func (s *Server) getActionCall(c echo.Context) error {
	run, err := s.cfg.Store.Run(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if run.Kind != storage.KindAction {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no action call " + c.Param("id")}
	}
	return c.JSON(http.StatusOK, run)
}
