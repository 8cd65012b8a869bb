# Ferry's build. `make build` builds the ferry binary and every plugin the examples and tests
# use, once; `make test` runs every test; `make demo` runs the end-to-end demo.

GO        ?= go
WASM_ENV  := GOOS=wasip1 GOARCH=wasm
WASM_MODE := -buildmode=c-shared

# Test plugins: one directory per plugin under runtime/testdata/plugins, one module for all.
TEST_PLUGIN_DIR := runtime/testdata/plugins
TEST_PLUGINS    := $(patsubst $(TEST_PLUGIN_DIR)/%/main.go,%,$(wildcard $(TEST_PLUGIN_DIR)/*/main.go))

.PHONY: all build ferry provider plugins example-plugins test-plugins test test-go test-sdk test-examples demo lint fmt clean

all: build

build: ferry provider plugins

ferry:
	$(GO) build -o bin/ferry ./cli/ferry

provider:
	$(GO) build -o bin/provider ./examples/provider
	$(GO) build -o bin/receiver ./examples/receiver

plugins: example-plugins test-plugins as-plugins rust-plugins bench-plugin

example-plugins:
	cd examples/crm-go && $(WASM_ENV) $(GO) build $(WASM_MODE) -o plugin.wasm .

# The benchmark's probe plugin (benchmark/plugin), whose syncs do next to nothing.
.PHONY: bench-plugin
bench-plugin:
	cd benchmark/plugin && $(WASM_ENV) $(GO) build $(WASM_MODE) -o plugin.wasm .

test-plugins:
	@cd $(TEST_PLUGIN_DIR) && for p in $(TEST_PLUGINS); do \
		echo "build $(TEST_PLUGIN_DIR)/$$p/plugin.wasm"; \
		$(WASM_ENV) $(GO) build $(WASM_MODE) -o $$p/plugin.wasm ./$$p || exit 1; \
	done

# AssemblyScript plugins (Extism ABI): the example and the runtime's Extism test plugin, built
# with the npm packages examples/crm-assemblyscript pins in its package-lock.json.
AS_EXAMPLE := examples/crm-assemblyscript

.PHONY: as-plugins
as-plugins: $(AS_EXAMPLE)/node_modules/.package-lock.json
	cd $(AS_EXAMPLE) && ./build.sh
	runtime/testdata/extism/build.sh

# npm ci runs only when the lock file changed since the last install (the SDK is linked, not
# copied, so its changes need none).
$(AS_EXAMPLE)/node_modules/.package-lock.json: $(AS_EXAMPLE)/package-lock.json $(AS_EXAMPLE)/package.json
	cd $(AS_EXAMPLE) && npm ci --no-audit --no-fund

# Rust plugins (Ferry ABI): examples/crm-rust, built with Debian's rustc and cargo offline,
# from the crates in /usr/share/cargo/registry (each crate's .cargo/config.toml says so);
# scripts/install-deps.sh installs that toolchain when it is missing. Cargo's target directory
# stays inside the crate. `make test-rust` runs the Rust SDK's and the example's tests natively.
RUST_EXAMPLE := examples/crm-rust
RUST_SDK     := sdk-guest/rust
CARGO        := RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc /usr/bin/cargo

.PHONY: rust-plugins test-rust
rust-plugins:
	./scripts/install-deps.sh
	cd $(RUST_EXAMPLE) && $(CARGO) build --offline --release --target wasm32-wasi
	cp $(RUST_EXAMPLE)/target/wasm32-wasi/release/crm_rust.wasm $(RUST_EXAMPLE)/plugin.wasm

test-rust:
	./scripts/install-deps.sh
	cd $(RUST_SDK) && $(CARGO) test --offline
	cd $(RUST_EXAMPLE) && $(CARGO) test --offline

# Every test, after building what the tests load (each plugin is built once per run).
test: build test-go test-sdk test-rust test-examples fuzz

test-go:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

# Fuzz targets, each run briefly by `make test`; `go test -fuzz` takes one target at a time.
# The brief budgets are counts of inputs, not durations: with a duration, Go 1.26's fuzzing
# coordinator can fail a target with "context deadline exceeded" as the time runs out
# (go.dev/issue/75804). A target may name its own count (pkg:Name:count), for slow ones.
# FUZZTIME given to make overrides every budget: `make fuzz FUZZTIME=10m FUZZ_TARGETS=records:FuzzParseBatch`.
FUZZTIME     ?= 5000x
FUZZ_TARGETS ?= plugins:FuzzParse records:FuzzParseBatch records:FuzzParseIDs records:FuzzCanonical \
	records:FuzzMerge records:FuzzValue records:FuzzItemValue records:FuzzLookup records:FuzzPlainEnd hostfuncs:FuzzDecodeRequest hostfuncs:FuzzDispatch \
	api:FuzzDeploy:200x api:FuzzDeployBody:200x api:FuzzPutConnection api:FuzzTriggerBody api:FuzzRecordsQuery \
	sdk-guest/go:FuzzValid sdk-guest/go:FuzzScanJSON internal/wasmdata:FuzzCoalesce
FUZZ_OVERRIDE := $(if $(filter file,$(origin FUZZTIME)),,$(FUZZTIME))

.PHONY: fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#"$$name"}; \
		budget=$${budget#:}; budget=$${budget:-$(FUZZTIME)}; [ -z "$(FUZZ_OVERRIDE)" ] || budget=$(FUZZ_OVERRIDE); \
		echo "fuzz ./$$pkg $$name for $$budget"; \
		(cd ./$$pkg && $(GO) test . -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget) >/tmp/ferry-fuzz.$$$$.log 2>&1 \
			|| { cat /tmp/ferry-fuzz.$$$$.log; rm -f /tmp/ferry-fuzz.$$$$.log; exit 1; }; \
		rm -f /tmp/ferry-fuzz.$$$$.log; \
	done

# The guest SDK is its own module; its pure logic is tested natively.
test-sdk:
	cd sdk-guest/go && $(GO) vet ./... && $(GO) test ./...

# The example plugins' own tests: their syncs run by ferry dryrun against recorded exchanges.
test-examples:
	cd examples/crm-go && FERRY_BIN=$$(pwd)/../../bin/ferry $(GO) test ./...

demo: build
	./examples/demo.sh

# The end-to-end benchmark (docs/benchmarks.md): one JSON object on stdout, a table on a
# terminal. BENCH_FLAGS passes flags, e.g. BENCH_FLAGS="--only ingest --runs 5".
.PHONY: bench bench-go
bench: build
	./bin/ferry bench $(BENCH_FLAGS)

# Go benchmarks of the hot paths, benchstat-friendly, one package at a time so that they do
# not share the cores: compare two runs with `benchstat old.txt new.txt`.
bench-go: test-plugins
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count 6 ./storage ./records ./plugins ./hostfuncs ./runtime ./proxy

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
	find examples benchmark $(TEST_PLUGIN_DIR) -name plugin.wasm -delete
