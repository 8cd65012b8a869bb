package hostfuncs

import (
	"bytes"
	"fmt"
)

// MaxLogLine bounds one log message; longer ones are cut, not refused, so a chatty plugin
// still gets its point across.
const MaxLogLine = 64 << 10

var logLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true}

func (c *Call) log(arg []byte) error {
	level, msg, ok := bytes.Cut(arg, []byte{'\n'})
	if !ok || !logLevels[string(level)] {
		return fmt.Errorf(`argument must be "LEVEL\nMESSAGE" with LEVEL one of debug, info, warn, error`)
	}
	if c.Log != nil {
		c.Log(string(level), truncate(string(msg), MaxLogLine))
	}
	return nil
}
