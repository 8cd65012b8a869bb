// Package api serves Ferry's REST API (v1) with echo: deploys, connections, sync triggers, runs
// and records. Every route but /healthz needs the server's secret key as a bearer token. Errors
// have one shape, {"error": {"code": "...", "message": "..."}}, with a status that fits; codes
// are stable and listed in errors.go.
package api
