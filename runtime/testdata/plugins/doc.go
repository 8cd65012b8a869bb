// Package plugins holds no code: each directory below is a small plugin that the runtime's
// tests run (an endless loop, a panic, a memory bomb, a failure, one that uses every host
// function, and one that moves 300 MiB through a 64 MiB module), one with an export per fault
// for syncs' TestHostilePlugins and rate-limit test (hostile), and one that dumps everything
// it can see, for api's TestCredentialsNeverVisible (snoop). Build one with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o loop/plugin.wasm ./loop
//
// from this directory; build.sh builds them all.
package plugins
