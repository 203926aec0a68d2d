#!/usr/bin/env bash
# Checks ltecli's CUDA path on a GPU machine: the CUDA plugin execution provider registers and
# offers the GPU, values stay on the device, and the Qwen3 graphs give the CPU's numbers, with
# each ONNX Runtime core (1.30 from `make setup`, 1.29 from `make setup-cuda`).
#
#   scripts/gpu-check.sh pack     here: binaries into bin/, libraries into .gpu-transfer/ parts
#   scripts/gpu-check.sh unpack   there: parts back into .gpu-transfer/cache (sha256 checked)
#   scripts/gpu-check.sh [check]  there: unpack if needed, then the checks (exit 1 if one fails)
#
# How the libraries travel to a GPU machine without network. Each one is compressed with
# `xz -9` and cut by `split -b 60000000` into parts in the git-ignored folder .gpu-transfer/,
# beside SHA256SUMS of the uncompressed files (a device call carries 64 MiB, the repository's
# own files included, so a part stays under 60 MB):
#   xz -9 -c .cache/ort-cuda/libonnxruntime_providers_cuda.so \
#     | split -b 60000000 -d - .gpu-transfer/libonnxruntime_providers_cuda.so.xz.part-
# The 229 MB plugin compresses to 164 MB (its CUDA kernels hardly compress): three parts,
# 60 + 60 + 44 MB; the cores one part each (12 and 8 MB); bin/ is 38 MB. Carried ignored files
# stay on a warm machine, so four calls, each within 30 s of the last, bring everything:
# plugin part-00; part-01; part-02 with the 1.30 core's part; the 1.29 core's part, SHA256SUMS,
# perf_torch_gpu.py (the PyTorch peer, from ../shared/gpu) and bin/, running `check`, which
# unpacks first. There the reassembly is, per library (`unpack` falls back to Python's lzma
# where xz is missing):
#   cat .gpu-transfer/libonnxruntime_providers_cuda.so.xz.part-* | xz -dc \
#     > .gpu-transfer/cache/ort-cuda/libonnxruntime_providers_cuda.so
#   (cd .gpu-transfer/cache && sha256sum -c ../SHA256SUMS)
# which `unpack` does for all three.
#
# Without Go on the GPU machine the checks run the binaries `pack` built: bin/ltecli,
# bin/ort.test, bin/graph.test and bin/qwen3.test. With Go there, `check` rebuilds them first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
xfer=$root/.gpu-transfer
cuda_libs=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib:/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib:/usr/local/cuda-13.0/targets/x86_64-linux/lib

# The libraries, as paths inside a cache folder.
libs=(ort/libonnxruntime.so.1 ort-cuda/libonnxruntime.so ort-cuda/libonnxruntime_providers_cuda.so ort-cuda/libonnxruntime_providers_shared.so)
core130=ort/libonnxruntime.so.1
core129=ort-cuda/libonnxruntime.so

build() {
	# Stripped (-s -w): they travel with the parts.
	(cd "$root" && go build -ldflags "-s -w" -o bin/ltecli ./cli/ltecli &&
		go test -c -ldflags "-s -w" -o bin/ort.test ./ort && go test -c -ldflags "-s -w" -o bin/graph.test ./model/graph &&
		go test -c -ldflags "-s -w" -o bin/qwen3.test ./model/qwen3)
}

pack() {
	local cache=${LTECLI_CACHE:-$root/.cache}
	for lib in "${libs[@]}"; do
		[ -s "$cache/$lib" ] || { echo "gpu-check: $cache/$lib is missing: run make setup and make setup-cuda" >&2; exit 1; }
	done
	build
	mkdir -p "$xfer"
	local sums
	sums=$(cd "$cache" && sha256sum "${libs[@]}")
	for lib in "${libs[@]}"; do
		local name
		name=$(basename "$lib")
		# Parts made from the same file are kept (xz -9 of the plugin takes minutes).
		if [ -f "$xfer/SHA256SUMS" ] && grep -qxF "$(grep " $lib\$" <<<"$sums")" "$xfer/SHA256SUMS" &&
			ls "$xfer/$name.xz.part-"* >/dev/null 2>&1; then
			continue
		fi
		rm -f "$xfer/$name.xz.part-"*
		echo "gpu-check: compressing $lib" >&2
		xz -9 -T0 -c "$cache/$lib" | split -b 60000000 -d - "$xfer/$name.xz.part-"
	done
	echo "$sums" >"$xfer/SHA256SUMS"
	ls -l "$xfer" "$root/bin/ltecli" "$root/bin/ort.test" "$root/bin/graph.test" "$root/bin/qwen3.test"
}

# unxz decompresses stdin to stdout, with Python's lzma where xz is not installed.
unxz() {
	if command -v xz >/dev/null; then
		xz -dc
	else
		python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'
	fi
}

unpack() {
	local dest=$xfer/cache
	for lib in "${libs[@]}"; do
		local name
		name=$(basename "$lib")
		[ -s "$dest/$lib" ] && continue
		ls "$xfer/$name.xz.part-"* >/dev/null 2>&1 || { echo "gpu-check: no parts of $name in $xfer" >&2; exit 1; }
		mkdir -p "$dest/$(dirname "$lib")"
		cat "$xfer/$name.xz.part-"* | unxz >"$dest/$lib.tmp"
		mv "$dest/$lib.tmp" "$dest/$lib"
	done
	(cd "$dest" && sha256sum -c --quiet "$xfer/SHA256SUMS")
}

failed=()
last_ok=0
# step NAME COMMAND...: runs a check, records a failure (a crash included) and goes on.
step() {
	local name=$1
	shift
	echo "=== $name"
	local start=$SECONDS
	if "$@"; then
		echo "--- ok: $name ($((SECONDS - start)) s)"
		last_ok=1
	else
		echo "--- FAILED ($?): $name ($((SECONDS - start)) s)"
		failed+=("$name")
		last_ok=0
	fi
}

check() {
	setup_env
	for b in ltecli ort.test graph.test qwen3.test; do
		[ -x "$root/bin/$b" ] || { echo "gpu-check: bin/$b is missing: run scripts/gpu-check.sh pack where Go is" >&2; exit 1; }
	done
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "gpu-check: nvidia-smi failed"
	provider_checks
	model_checks "$core129"
	benchmarks
	summary
}

# models: only the model checks and the benchmarks (a second call on a warm machine).
models() {
	setup_env
	model_checks "$core129"
	benchmarks
	summary
}

summary() {
	if [ -s "${bench_log:-}" ]; then
		echo "=== benchmark figures (Qwen3-0.6B shape; the variant follows each group)"
		grep -E 'tok/s|^   \(' "$bench_log" | sed -E 's/ +[0-9]+ ns\/op//'
	fi
	if [ ${#failed[@]} -gt 0 ]; then
		printf 'gpu-check: FAILED: %s\n' "${failed[@]}"
		exit 1
	fi
	echo "gpu-check: all checks passed"
}

setup_env() {
	export LD_LIBRARY_PATH=$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	if [ -z "${LTECLI_CACHE:-}" ]; then
		if ls "$xfer"/*.xz.part-* >/dev/null 2>&1; then
			unpack
			LTECLI_CACHE=$xfer/cache
		else
			LTECLI_CACHE=$root/.cache
		fi
	fi
	export LTECLI_CACHE
	if command -v go >/dev/null; then
		build
	fi
}

# provider_checks: with each core, the plugin loads, device values and the engine's graphs
# give the CPU's numbers.
provider_checks() {
	for core in "$core130" "$core129"; do
		export ORT_LIB=$LTECLI_CACHE/$core
		step "devices, $core" "$root/bin/ltecli" devices --provider cuda
		[ "$last_ok" = 1 ] || continue # the provider did not load: the other checks would fail the same way
		step "device values CUDA vs CPU, $core" \
			bash -c 'cd "$1/ort" && LTECLI_TEST_CUDA=1 ../bin/ort.test -test.run TestCUDAMatchesCPU -test.v -test.timeout 3m' _ "$root"
		step "Qwen3 graphs CUDA vs CPU, $core" \
			bash -c 'cd "$1/model/graph" && LTECLI_TEST_CUDA=1 ../../bin/graph.test -test.run TestCUDAModelGraphs -test.v -test.timeout 3m' _ "$root"
		step "engine CUDA vs CPU (scores, gradients, decoding), $core" \
			bash -c 'cd "$1/model/qwen3" && LTECLI_TEST_CUDA=1 ../../bin/qwen3.test -test.run TestCUDAMatchesCPU -test.v -test.timeout 4m' _ "$root"
	done
	unset ORT_LIB
}

# model_checks CORE: the embedded model on CUDA against the CPU (greedy generate, grad) and a
# short training run on CUDA.
model_checks() {
	export ORT_LIB=$LTECLI_CACHE/$1
	local work=${TMPDIR:-/tmp}/gpu-check
	rm -rf "$work" && mkdir -p "$work"
	step "ltecli run --provider cuda --steps 5 (embedded model), $1" \
		timeout 300 "$root/bin/ltecli" run --provider cuda --steps 5 --out "$work/run"
	step "ltecli run --provider cuda --compute bf16 --steps 5 (embedded model), $1" \
		timeout 300 "$root/bin/ltecli" run --provider cuda --compute bf16 --steps 5 --out "$work/run-bf16"
	local tiny
	tiny=$(ls -d "$LTECLI_CACHE"/tiny-* 2>/dev/null | head -1)
	if [ -z "$tiny" ]; then
		echo "gpu-check: the embedded model was not extracted; skipping generate and grad"
		failed+=("embedded model")
		return
	fi
	for p in cpu cuda; do
		timeout 120 "$root/bin/ltecli" generate --provider $p --model "$tiny" --template qwen-boxed \
			--prompt "Find x in {0,...,6} with (3x + 2) mod 7 = 5." --n 4 --temperature 0 --max-tokens 24 --json >"$work/gen-$p.jsonl" || true
	done
	step "greedy generate: the same tokens on CPU and CUDA" cmp "$work/gen-cpu.jsonl" "$work/gen-cuda.jsonl"
	cat "$work/gen-cuda.jsonl"
	cat >"$work/batch.json" <<'JSON'
{"sequences": [[1, 5, 9, 14, 20, 33, 41, 52, 60, 71, 80, 99, 120, 140, 160, 180, 200, 250, 300, 350],
               [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 400, 401, 402],
               [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47]],
 "prompt_lens": [6, 4, 9], "advantages": [1.0, -0.5, 0.25], "off_policy": [false, false, true]}
JSON
	for c in fp32 bf16; do
		for p in cpu cuda; do
			timeout 120 "$root/bin/ltecli" grad --provider $p --compute $c --model "$tiny" --batch "$work/batch.json" --out "$work/grad-$p-$c.safetensors" || true
		done
		step "ltecli grad --compute $c: CUDA against CPU (relative error per tensor)" compare_grads "$work/grad-cpu-$c.safetensors" "$work/grad-cuda-$c.safetensors" $c
	done
	unset ORT_LIB
}

# compare_grads CPU GPU COMPUTE: the worst per-tensor relative error of two ltecli grad files
# (bf16 on the GPU against its emulation on the CPU is allowed more).
compare_grads() {
	python3 - "$@" <<'PY'
import json, struct, sys
import numpy as np
def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).astype(np.float64)
    return out
cpu, gpu = load(sys.argv[1]), load(sys.argv[2])
worst = 0.0
for k in cpu:
    d = np.linalg.norm(gpu[k] - cpu[k]) / max(np.linalg.norm(cpu[k]), 1e-30)
    worst = max(worst, d)
print("tensors %d, worst per-tensor relative error %.3g" % (len(cpu), worst))
sys.exit(0 if worst < (5e-2 if sys.argv[3] == "bf16" else 2e-2) else 1)
PY
}

# benchmarks: the engine on CUDA (Qwen3-0.6B shape: train 4 x 512, decode 16 rows; the 103M
# model: train 4 x 256, decode 16 rows), with the 1.30 core and, for the 103M model, the 1.29
# one; then PyTorch eager (transformers Qwen3, random weights) on the same GPU.
benchmarks() {
	local bench=$root/bin/qwen3.test
	bench_log=${TMPDIR:-/tmp}/gpu-check-bench.log
	: >"$bench_log"
	for core in "$core129"; do
		export ORT_LIB=$LTECLI_CACHE/$core
		step "benchmark 103M on CUDA, $core" bash -c 'cd "$1/model/qwen3" && LTECLI_BENCH_PROVIDER=cuda timeout 200 "$2" -test.run "^$" -test.bench "TrainStep$|Decode16$" -test.benchtime 5x' _ "$root" "$bench"
	done
	export ORT_LIB=$LTECLI_CACHE/$core129
	# Whole-layer graphs in fp32 (TF32) and bf16, and the split graphs (3 session calls per
	# layer and token, 11 per layer and training step) to measure what a call costs; train
	# steps of one micro-batch (the gradient comes back each time) and of four (once).
	# GPU_CHECK_VARIANTS picks them (compute:split, most telling first).
	local v
	for v in ${GPU_CHECK_VARIANTS:-fp32:0 bf16:0 fp32:1}; do
		set -- ${v%%:*} ${v##*:}
		step "benchmark Qwen3-0.6B shape on CUDA, $1, split layers $2, $core129" bash -c 'set -o pipefail; cd "$1/model/qwen3" && LTECLI_PROFILE=1 LTECLI_BENCH_COMPUTE=$3 LTECLI_BENCH_SPLIT=$4 LTECLI_BENCH_MODEL=0.6b LTECLI_BENCH_PROVIDER=cuda timeout 300 "$2" -test.run "^$" -test.bench "TrainStep512$|TrainStep512x4$|Decode16$" -test.benchtime 5x | tee -a "$5"' _ "$root" "$bench" "$1" "$2" "$bench_log"
		echo "   ($1, split $2)" >>"$bench_log"
	done
	unset ORT_LIB
	local peer=$xfer/perf_torch_gpu.py
	if [ -n "${GPU_CHECK_NO_PEER:-}" ]; then
		echo "gpu-check: PyTorch not measured (GPU_CHECK_NO_PEER)"
	elif [ -f "$peer" ]; then
		step "PyTorch eager on the same GPU" env PYTHONUNBUFFERED=1 timeout 300 python3 "$peer" \
			train:0.6b:fp32:4:512 train:0.6b:bf16:4:512 decode:0.6b:bf16:16:64 train:mid:fp32:4:256 decode:mid:fp32:16:64
	else
		echo "gpu-check: no $peer (copy ../shared/gpu/perf_torch_gpu.py there): PyTorch not measured"
	fi
}

case "${1:-check}" in
pack) pack ;;
unpack) unpack ;;
check) check ;;
models) models ;;
*)
	echo "usage: $0 [pack|unpack|check]" >&2
	exit 2
	;;
esac
