// Package benchmark measures a Ferry server end to end, as `ferry bench` (and `make bench`)
// runs it: it starts the example provider on loopback and a `ferry serve` process on a fresh
// data directory, deploys the example plugins, times their syncs from trigger to committed
// run, and reads the records back over REST. Every figure is the median of several
// repetitions, and the figures that are ratios are measured interleaved in the same
// process run, so that a noisy machine slows both sides alike.
//
// The native comparison runs the same contacts sync as a plain Go function, in this process,
// against a server assembled in process with the same runner, store, proxy and host
// functions, but no WebAssembly and no worker process: the difference is the sandbox's cost.
//
// docs/benchmarks.md lists the figures, their targets and the results on the reference
// machine.
package benchmark
