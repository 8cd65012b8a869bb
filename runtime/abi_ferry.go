package runtime

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/ferrysync/ferry/hostfuncs"
)

// ferryModule is the import module of Ferry's own ABI (docs/abi.md).
const ferryModule = "ferry"

// instantiateFerryABI adds the "ferry" host module to rt. Every function but result forwards
// its argument to the server as it lies in guest memory, and holds the answer until the guest
// copies it out with result: one copy each way.
func (wk *workerProc) instantiateFerryABI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(ferryModule)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	for _, op := range hostfuncs.Ops() {
		b.NewFunctionBuilder().
			WithGoModuleFunction(wk.forward(op), []api.ValueType{i32, i32}, []api.ValueType{i64}).
			WithParameterNames("ptr", "len").
			Export(op.String())
	}
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(wk.result), []api.ValueType{i32, i32}, []api.ValueType{i64}).
		WithParameterNames("ptr", "len").
		Export("result")
	_, err := b.Instantiate(ctx)
	return err
}

func (wk *workerProc) forward(op hostfuncs.Op) api.GoModuleFunction {
	return api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		arg, ok := mod.Memory().Read(ptr, n)
		if !ok {
			// A guest that passes memory it does not have is broken: trap, naming the call.
			panic(fmt.Errorf("ferry.%s: argument (ptr=%d, len=%d) is outside the module's %d bytes of memory",
				op, ptr, n, mod.Memory().Size()))
		}
		res, ok, err := wk.hostCall(op, arg)
		if err != nil {
			wk.broken = err
			panic(fmt.Errorf("ferry.%s: %w", op, err))
		}
		wk.pending = res
		if ok {
			stack[0] = uint64(len(res))
		} else {
			stack[0] = uint64(-int64(len(res)))
		}
	})
}

// result copies the pending result into the guest's buffer and returns the bytes copied.
func (wk *workerProc) result(_ context.Context, mod api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	k := min(int(n), len(wk.pending))
	if !mod.Memory().Write(ptr, wk.pending[:k]) {
		panic(fmt.Errorf("ferry.result: buffer (ptr=%d, len=%d) is outside the module's %d bytes of memory",
			ptr, n, mod.Memory().Size()))
	}
	stack[0] = uint64(k)
}
