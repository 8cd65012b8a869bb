// Package scheduler runs every sync that is on its schedule at its frequency: each sync of
// each connection whose manifest says auto_start (unless paused), or that was started with
// `ferry sync start`. It keeps each sync's next run time in the store, so a restarted server
// picks up where the last one was, and spreads runs with jitter so that a thousand connections
// created together do not all fire in the same second. Runs go through the runner, which never
// lets two runs of one sync of one connection overlap.
package scheduler
