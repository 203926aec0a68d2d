# ltecli: two commands set up and use a fresh machine: `make run` and `make test`.
GO      ?= go
BIN     := bin/ltecli
CACHE   ?= $(CURDIR)/.cache
ORT_SO  := $(CACHE)/ort/libonnxruntime.so.1
TOK     := $(CACHE)/qwen3-tokenizer/tokenizer.json
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
export LTECLI_CACHE := $(CACHE)

.PHONY: setup build test run bench vet fmt clean

setup: $(ORT_SO) $(TOK)

$(ORT_SO) $(TOK): scripts/setup.sh
	scripts/setup.sh
	@touch $(ORT_SO) $(TOK)

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './.cache/*') go.mod go.sum
	$(GO) build -ldflags "-X ltecli/cli.Version=$(VERSION)" -o $(BIN) ./cli/ltecli

vet:
	$(GO) vet ./...

fmt:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

test: setup vet fmt
	$(GO) test -count=1 -timeout 20m ./...

run: setup build
	$(BIN) version

bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
