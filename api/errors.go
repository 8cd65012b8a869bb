package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ferrysync/ferry/connections"
	"github.com/ferrysync/ferry/plugins"
	"github.com/ferrysync/ferry/storage"
	"github.com/ferrysync/ferry/syncs"
)

// Error codes of the API's error responses.
const (
	CodeUnauthorized  = "unauthorized"
	CodeNotFound      = "not_found"
	CodeInvalid       = "invalid_request"
	CodeInvalidPlugin = "invalid_plugin"
	CodeTooLarge      = "too_large"
	CodeMethod        = "method_not_allowed"
	CodeUnavailable   = "unavailable"
	CodeInvalidInput  = "invalid_input"  // an action's input its schema refuses
	CodeActionFailed  = "action_failed"  // the plugin returned an error
	CodePluginCrashed = "plugin_crashed" // the plugin trapped or crashed
	CodeTimeout       = "timeout"        // the plugin passed its time limit
	CodeInvalidOutput = "invalid_output" // the action's output its schema refuses
	CodeInternal      = "internal"
)

// Error is an API error: the status to answer with, and the body's code and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// invalid is a 400 for a request the client got wrong.
func invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// toError maps what a handler returned onto an API error.
func toError(err error) *Error {
	var apiErr *Error
	var httpErr *echo.HTTPError
	var maxBytes *http.MaxBytesError
	var inputErr *syncs.InputError
	var callErr *syncs.CallError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &maxBytes):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body over the %d-byte limit", maxBytes.Limit)}
	case errors.As(err, &httpErr):
		e := &Error{Status: httpErr.Code, Code: CodeInvalid, Message: fmt.Sprint(httpErr.Message)}
		switch httpErr.Code {
		case http.StatusNotFound:
			e.Code = CodeNotFound
		case http.StatusMethodNotAllowed:
			e.Code = CodeMethod
		case http.StatusUnauthorized:
			e.Code = CodeUnauthorized
		case http.StatusRequestEntityTooLarge:
			e.Code = CodeTooLarge
		}
		return e
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, syncs.ErrUnknownSync):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, plugins.ErrRefused):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidPlugin, Message: err.Error()}
	case errors.As(err, &inputErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: err.Error()}
	case errors.As(err, &callErr):
		e := &Error{Status: http.StatusUnprocessableEntity, Code: CodeActionFailed, Message: err.Error()}
		switch callErr.Reason {
		case "crash":
			e.Status, e.Code = http.StatusInternalServerError, CodePluginCrashed
		case "timeout":
			e.Status, e.Code = http.StatusGatewayTimeout, CodeTimeout
		case "output":
			e.Status, e.Code = http.StatusBadGateway, CodeInvalidOutput
		}
		return e
	case errors.Is(err, syncs.ErrUnknownFunction):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, syncs.ErrStopping):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error()}
	case errors.Is(err, connections.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: err.Error()}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
}

// handleError writes err in the API's error shape.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := toError(err)
	if e.Status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	body := map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSON(e.Status, body)
}
