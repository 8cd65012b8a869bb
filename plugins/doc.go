// Package plugins holds what Ferry knows about a deployed plugin before it
// runs: the manifest (ferry.yaml) and the checks a WebAssembly module must
// pass before a deploy is accepted.
//
// [Parse] turns a ferry.yaml into a [Manifest] with every default applied,
// refusing unknown keys, wrong types and invalid values with errors that name
// the field path. [CheckModule] compiles a module and checks that it speaks
// one of the two ABIs Ferry runs and exports every function the manifest
// names. Both report every problem they find at once, so a user fixes a
// manifest in one round trip.
package plugins
