// Command ferry is Ferry's server and client in one binary; see the README for its commands.
package main

import (
	"os"

	"github.com/ferrysync/ferry/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
