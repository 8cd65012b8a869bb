// Package secrets holds the server's key material: the API key clients
// present as a bearer token, and the key that encrypts credentials at rest.
//
// Both live as files in the server's data directory, created on first start
// with mode 0600 and written atomically, so a crash never leaves a partial
// key. A key file that group or others may read, or whose content is not a
// key, is refused rather than used. Nothing in this package logs, and no
// error it returns quotes key material.
package secrets
