// Package connections holds customers' accounts at a provider: a connection's credentials,
// metadata and base URL. It checks credentials against the integration's auth type and seals
// them before they reach the store; only the HTTP proxy ever sees them in the clear, through
// [Service.Credentials]. The API never returns them.
package connections
