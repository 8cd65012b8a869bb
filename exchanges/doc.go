// Package exchanges records a plugin's HTTP exchanges with its provider as files, and replays
// them: `ferry dryrun --record DIR` saves each exchange a sync makes, and `--replay DIR`
// answers the plugin from those files instead of the network, so a plugin's tests run offline
// and give the same records every time.
//
// A [Recorder] wraps the connection's real HTTP access (a [hostfuncs.Fetcher], see
// [Recorder.Wrap]) and writes one JSON file per exchange, named in order (0001-GET-contacts.json, ...). A [Replayer] is a
// Fetcher that answers from such a directory: a request matches a recorded one with the same
// method, path (or absolute URL), query and body; identical requests replay their recordings in
// order; a request that was not recorded fails with an error, wrapping [ErrNotRecorded], that
// names its method and URL.
//
// Recordings hold what the plugin sent, before the host adds credentials, so they carry no
// secrets the host manages; headers that would carry credentials are left out.
package exchanges
