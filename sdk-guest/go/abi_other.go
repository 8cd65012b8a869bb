//go:build !wasip1

package ferry

// noHost stands in for the host outside WebAssembly: every call fails with ErrNoHost.
type noHost struct{}

var defaultABI abi = noHost{}

func (noHost) call(hostFunc, []byte) ([]byte, error) { return nil, ErrNoHost }
