// Package cli is the ferry command: the server (serve, and the worker mode it starts its
// workers in) and the client commands that talk to a server's REST API. Commands are thin: they
// parse flags and call into the packages that do the work.
package cli
