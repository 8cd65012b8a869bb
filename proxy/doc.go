// Package proxy sends plugins' HTTP requests to their provider on their behalf: it resolves the
// request against the connection's base URL, allows only the connection's hosts, injects the
// credentials the plugin never sees, applies the connection's rate limit as a token bucket,
// times out each attempt, and retries 429, 5xx and network errors with backoff, honouring
// Retry-After. Each request yields an [Exchange] for the run's log, with secrets redacted.
package proxy
