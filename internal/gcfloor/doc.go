// Package gcfloor holds Start, which lets a process's heap grow to a floor before its garbage
// collector runs, however small the live heap: the collector then runs less often for a
// process whose live heap is small but which allocates a lot (the server during a sync
// allocates a page's worth of buffers a page), and as Go's default (GOGC=100) once the live
// heap is large, so memory stays bounded by the larger of the floor and twice the live heap.
//
// A memory limit (GOMEMLIMIT) with a high GOGC would get the same in the small case, but makes
// the collector run nearly without pause once the live heap nears the limit; a floor never
// does.
package gcfloor
