// Package dryrun runs one sync of a plugin locally, the way `ferry dryrun` does: the plugin is
// checked as a deploy checks it, then run once in a real worker process against a real but
// throwaway store (a bbolt file in a temporary directory, removed at the end), with a
// connection made of the given credentials, metadata and base URL, so counts, checkpoints and
// full-sync rules are exactly a server's. Its HTTP exchanges can be recorded to files, or
// answered from recorded files instead of the network (see package exchanges), which is how
// plugin tests run offline.
package dryrun
