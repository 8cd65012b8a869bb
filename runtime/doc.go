// Package runtime loads and runs plugin modules.
//
// Plugin calls run in worker processes, never in the server: a [Pool] keeps a few workers (the
// ferry binary started in worker mode, which calls [ServeWorker]) and hands each one call at a
// time. A worker compiles modules with wazero, through a compilation cache on disk (the pool's
// first workers load the modules PoolConfig.Preload names as they start), and gives
// every call a fresh instance with the manifest's memory limit. Guests run with wazero's
// interruption checks off, at full speed; a call that passes its deadline is stopped by killing
// its worker, which the pool then replaces with its spare: a worker kept started, with the
// modules of the latest calls loaded, so the pool is back at full strength at once. A trap, a
// panic or a crash fails only that call.
//
// The server keeps everything a plugin must not hold (the store, credentials, the HTTP proxy,
// rate limits). A guest's host call travels from the worker to the server over the worker's
// stdin and stdout as one frame and comes back as one frame: the worker reads the argument in
// place from the guest's linear memory and writes the result straight into it. On Linux a
// worker also shares a memory with the server (shared.go), and an argument or result of 16 KiB
// to 4 MiB (a record batch, an HTTP body) crosses there, only its length crossing the pipe; the
// server copies an argument out before it reads it. The frames are defined in protocol.go and
// shared.go; what each host call means is package hostfuncs' business, reached through [Host].
// Modules built with an Extism PDK run through the Extism Go SDK instead (abi_extism.go), with
// the same host functions offered in extism:host/user, the same frames and the same limits.
package runtime
