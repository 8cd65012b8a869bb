package plugins

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidModule is wrapped by every error [CheckModule] returns for bytes
// that are not a WebAssembly module Ferry can compile.
var ErrInvalidModule = errors.New("module is not valid WebAssembly")

// FieldError is one problem in a manifest, tied to the field it concerns.
// [Parse] returns its problems as *FieldError values joined with
// [errors.Join], so callers can list them with errors.As or print them as
// they are, one per line.
type FieldError struct {
	// Path is the field's path in the manifest, e.g. "syncs.contacts.type";
	// empty for problems with the manifest as a whole.
	Path string
	// Line and Column locate the problem in the YAML source (1-based); zero
	// when the problem is about a value's meaning rather than its syntax.
	Line, Column int
	// Message says what is wrong, without the path.
	Message string
}

func (e *FieldError) Error() string {
	msg := e.Message
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	if e.Line > 0 {
		msg += fmt.Sprintf(" (line %d, column %d)", e.Line, e.Column)
	}
	return msg
}

// problems collects FieldErrors so that a check can report all of them.
type problems []*FieldError

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by path, then line, then message, joined
// into one error; nil if there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	sorted := slices.Clone(p)
	slices.SortStableFunc(sorted, func(a, b *FieldError) int {
		return cmp.Or(
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Message, b.Message),
		)
	})
	errs := make([]error, len(sorted))
	for i, fe := range sorted {
		errs[i] = fe
	}
	return errors.Join(errs...)
}
