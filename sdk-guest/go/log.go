package ferry

import "fmt"

// Logger writes lines to the run's log, where they sit beside the host's own lines (every
// proxied HTTP request, for one). Logging never fails a run: a line the host refuses is
// dropped. Its zero value is not usable: use the Log field of a [Sync] or [Action].
type Logger struct {
	h *Host
}

// Debugf logs a line at debug level, formatted as fmt.Sprintf does.
func (l Logger) Debugf(format string, args ...any) { l.logf("debug", format, args...) }

// Infof logs a line at info level, formatted as fmt.Sprintf does.
func (l Logger) Infof(format string, args ...any) { l.logf("info", format, args...) }

// Warnf logs a line at warn level, formatted as fmt.Sprintf does.
func (l Logger) Warnf(format string, args ...any) { l.logf("warn", format, args...) }

// Errorf logs a line at error level, formatted as fmt.Sprintf does. It does not fail the run:
// return an error from the function for that.
func (l Logger) Errorf(format string, args ...any) { l.logf("error", format, args...) }

func (l Logger) logf(level, format string, args ...any) {
	b := make([]byte, 0, len(level)+1+len(format)+32)
	b = append(b, level...)
	b = append(b, '\n')
	b = fmt.Appendf(b, format, args...)
	_, _ = l.h.call(fnLog, b)
}
