// Package server assembles a Ferry server from its parts: the key files and the store in the
// data directory, the plugin registry, the worker pool, the runner and the REST API. `ferry
// serve` runs one; tests run one in-process.
package server
