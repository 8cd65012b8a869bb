// Package syncs runs sync functions: it takes triggers, keeps two runs of one sync of one
// connection from ever overlapping (a trigger during a run queues one follow-up), runs the plugin
// in a worker through package runtime with the host functions of package hostfuncs, and finishes
// each run: a full sync's deletions (behind the mass-delete guard), the run's status, counts and
// log.
package syncs
