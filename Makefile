# Ferry's build. `make build` builds the ferry binary and every plugin the examples and tests
# use, once; `make test` runs every test; `make demo` runs the end-to-end demo.

GO        ?= go
WASM_ENV  := GOOS=wasip1 GOARCH=wasm
WASM_MODE := -buildmode=c-shared

# Test plugins: one directory per plugin under runtime/testdata/plugins, one module for all.
TEST_PLUGIN_DIR := runtime/testdata/plugins
TEST_PLUGINS    := $(patsubst $(TEST_PLUGIN_DIR)/%/main.go,%,$(wildcard $(TEST_PLUGIN_DIR)/*/main.go))

.PHONY: all build ferry provider plugins example-plugins test-plugins test test-go test-sdk demo lint fmt clean

all: build

build: ferry provider plugins

ferry:
	$(GO) build -o bin/ferry ./cli/ferry

provider:
	$(GO) build -o bin/provider ./examples/provider

plugins: example-plugins test-plugins

example-plugins:
	cd examples/crm-go && $(WASM_ENV) $(GO) build $(WASM_MODE) -o plugin.wasm .

test-plugins:
	@cd $(TEST_PLUGIN_DIR) && for p in $(TEST_PLUGINS); do \
		echo "build $(TEST_PLUGIN_DIR)/$$p/plugin.wasm"; \
		$(WASM_ENV) $(GO) build $(WASM_MODE) -o $$p/plugin.wasm ./$$p || exit 1; \
	done

# Every test, after building what the tests load (each plugin is built once per run).
test: build test-go test-sdk

test-go:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

# The guest SDK is its own module; its pure logic is tested natively.
test-sdk:
	cd sdk-guest/go && $(GO) vet ./... && $(GO) test ./...

demo: build
	./examples/demo.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
	find examples $(TEST_PLUGIN_DIR) -name plugin.wasm -delete
