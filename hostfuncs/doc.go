// Package hostfuncs holds the capabilities Ferry offers to plugin code: proxied HTTP (waited
// for, or sent in the background and waited for later), batch record saving, updating,
// reading and deleting, the passthrough (an HTTP response's records saved by the host
// itself), checkpoints, connection metadata, data links, the last successful sync time, sync
// triggers, logging, and a call's input, output and failure.
//
// Each capability is implemented once, here, as an operation ([Op]) that takes the argument
// bytes a guest passed and returns result bytes. The ABI adapters in package runtime (Ferry's
// own ABI, and the Extism ABI) only move bytes between a guest's memory and [Call.Dispatch];
// they never interpret them, so capabilities cannot differ between ABIs. The wire format of each
// operation is specified in docs/abi.md.
package hostfuncs
