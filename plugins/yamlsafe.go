package plugins

import "fmt"

// recoverParse turns a panic of the YAML library on hostile input (seen with tags on empty
// values) into a manifest error, so that no upload can crash its handler. Parse defers it.
func recoverParse(err *error) {
	if r := recover(); r != nil {
		*err = &FieldError{Message: fmt.Sprintf("the manifest could not be parsed (the YAML parser failed: %v); check its tags, anchors and indentation", r)}
	}
}
