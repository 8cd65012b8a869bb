// Package proxy sends plugins' HTTP requests to their provider on their behalf: it resolves the
// request against the connection's base URL, allows only the connection's hosts, injects the
// credentials the plugin never sees, refuses non-public addresses (loopback, private,
// link-local) unless the target allows them, judging the address it dials after DNS
// resolution, applies the connection's rate limit as a token bucket, times out each attempt,
// and retries 429, 5xx and network errors with backoff, honouring Retry-After and
// X-RateLimit-Reset. Each request yields an [Exchange] for the run's log, with secrets
// redacted.
package proxy
