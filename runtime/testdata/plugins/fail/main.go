// Command fail is a test plugin whose sync returns an error, which becomes the run's error:
// "provider said no".
package main

import (
	"errors"

	ferry "github.com/ferrysync/ferry/sdk-guest/go"
)

func main() {}

//go:wasmexport fail
//lint:ignore U1000 exported to the host
func fail() int32 {
	return ferry.RunSync(func(*ferry.Sync) error {
		return errors.New("provider said no")
	})
}
