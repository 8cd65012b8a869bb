package plugins

import (
	"fmt"
	"strconv"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Duration is a time.Duration written as a Go duration string ("30s", "1m",
// "1h30m") in ferry.yaml and in JSON. The zero value means "not set": [Parse]
// replaces it with the field's default and refuses an explicit zero.
type Duration struct{ time.Duration }

// UnmarshalYAML accepts only a YAML string that time.ParseDuration accepts,
// so a bare number (which would be ambiguous about its unit) is refused.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	s, ok := node.(*ast.StringNode)
	if !ok {
		return fmt.Errorf("want a duration string like \"1m\", got %s", describeNode(node))
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. \"30s\", \"1m\", \"1h\")", s.Value)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in its shortest common form ("1h" rather
// than "1h0m0s"), so it reads like the manifest it came from.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText parses a Go duration string, for manifests read back from
// JSON.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration", b)
	}
	d.Duration = v
	return nil
}

// String formats whole seconds without zero units ("1h", "1h30m", "45s"),
// so a duration reads as it was written; other values as time.Duration does.
func (d Duration) String() string {
	v := d.Duration
	if v <= 0 || v%time.Second != 0 {
		return v.String()
	}
	var b []byte
	for _, u := range []struct {
		size time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := v / u.size; n > 0 {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, u.name...)
			v -= n * u.size
		}
	}
	return string(b)
}
