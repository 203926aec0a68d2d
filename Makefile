# ltecli: two commands set up and use a fresh machine: `make run` and `make test`.
GO      ?= go
BIN     := bin/ltecli
CACHE   ?= $(CURDIR)/.cache
ORT_SO  := $(CACHE)/ort/libonnxruntime.so.1
TOK     := $(CACHE)/qwen3-tokenizer/tokenizer.json
CUDA_EP := $(CACHE)/ort-cuda/libonnxruntime_providers_cuda.so
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
export LTECLI_CACHE := $(CACHE)

RUN_DIR ?= runs/default

.PHONY: setup setup-cuda build test run bench bench-peer vet fmt clean tiny-model

setup: $(ORT_SO) $(TOK)

$(ORT_SO) $(TOK): scripts/setup.sh
	scripts/setup.sh
	@touch $(ORT_SO) $(TOK)

# GPU machines only (not part of test): ONNX Runtime's CUDA plugin provider for --provider cuda.
setup-cuda: $(CUDA_EP)

$(CUDA_EP): scripts/setup.sh
	scripts/setup.sh cuda
	@touch $(CUDA_EP)

build: $(BIN)

$(BIN): $(shell find . -name '*.go' -not -path './.cache/*') go.mod go.sum testdata/tiny.tar.zst
	$(GO) build -ldflags "-X ltecli/cli.Version=$(VERSION)" -o $(BIN) ./cli/ltecli

vet:
	$(GO) vet ./...

fmt:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

test: setup vet fmt
	$(GO) test -count=1 -timeout 20m ./...

# The main job: LTE on the embedded tiny model and task, beside GRPO and GRPO-Extra with the
# same seed and budget, a comparison table, and the curves as PNG plots.
run: setup build
	rm -rf $(RUN_DIR)
	$(BIN) run --compare grpo,grpo-extra --out $(RUN_DIR)
	$(BIN) plot lte=$(RUN_DIR)/lte grpo=$(RUN_DIR)/grpo grpo-extra=$(RUN_DIR)/grpo-extra --out $(RUN_DIR)/plots

# Rebuilds the embedded default from scratch with a fixed seed (task, tokenizer, SFT).
tiny-model: setup build
	$(BIN) tiny-model --out testdata/tiny.tar.zst
	$(MAKE) build

bench: setup
	$(GO) test -run '^$$' -bench . -timeout 60m ./...

# The PyTorch peer of the training-engine benchmarks, on this machine's CPU (Debian's
# python3-torch with OpenBLAS; installs them, so run it as root). Not part of the build or
# the tests. The second line runs it with the huge-page setting ltecli uses.
bench-peer:
	apt-get install -y python3-torch libopenblas0-pthread >/dev/null
	/usr/bin/python3 scripts/peer/torch_cpu_peer.py --jobs train:4x256,train:1x2048,train:1x8192,prefill:16x64,decode:16x32,decode:1x32
	GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/python3 scripts/peer/torch_cpu_peer.py --jobs train:4x256,train:1x2048,prefill:16x64,decode:16x32,decode:1x32

clean:
	rm -rf bin
