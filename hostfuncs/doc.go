// Package hostfuncs holds the capabilities Ferry offers to plugin code: proxied HTTP, batch
// record saving, updating, reading and deleting, checkpoints, connection metadata, the last
// successful sync time, logging, and a call's input, output and failure.
//
// Each capability is implemented once, here, as an operation ([Op]) that takes the argument
// bytes a guest passed and returns result bytes. The ABI adapters in package runtime (Ferry's
// own ABI, and later the Extism ABI) only move bytes between a guest's memory and [Call.Dispatch];
// they never interpret them, so capabilities cannot differ between ABIs. The wire format of each
// operation is specified in docs/abi.md.
package hostfuncs
