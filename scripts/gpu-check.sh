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
# `xz -9` and cut by `split -b 64000000` into parts (at most 64,000,000 bytes, under the
# 64 MiB a device call carries) in the git-ignored folder .gpu-transfer/, beside SHA256SUMS of
# the uncompressed files:
#   xz -9 -c .cache/ort-cuda/libonnxruntime_providers_cuda.so \
#     | split -b 64000000 -d - .gpu-transfer/libonnxruntime_providers_cuda.so.xz.part-
# The 229 MB plugin compresses to 164 MB (its CUDA kernels hardly compress): three parts,
# 64 + 64 + 36 MB; the cores one part each (12 and 8 MB); bin/ is 38 MB. Carried ignored files
# stay on a warm machine, so four calls bring everything: part-00; part-01; part-02 with both
# core parts and SHA256SUMS (run `unpack`); bin (run `check`). There the reassembly is, per
# library (`unpack` falls back to Python's lzma where xz is missing):
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
libs=(ort/libonnxruntime.so.1 ort-cuda/libonnxruntime.so ort-cuda/libonnxruntime_providers_cuda.so)
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
		xz -9 -T0 -c "$cache/$lib" | split -b 64000000 -d - "$xfer/$name.xz.part-"
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
# step NAME COMMAND...: runs a check, records a failure (a crash included) and goes on.
step() {
	local name=$1
	shift
	echo "=== $name"
	local start=$SECONDS
	if "$@"; then
		echo "--- ok: $name ($((SECONDS - start)) s)"
	else
		echo "--- FAILED ($?): $name ($((SECONDS - start)) s)"
		failed+=("$name")
	fi
}

check() {
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
	for b in ltecli ort.test graph.test qwen3.test; do
		[ -x "$root/bin/$b" ] || { echo "gpu-check: bin/$b is missing: run scripts/gpu-check.sh pack where Go is" >&2; exit 1; }
	done
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "gpu-check: nvidia-smi failed"
	for core in "$core130" "$core129"; do
		export ORT_LIB=$LTECLI_CACHE/$core
		step "devices, $core" "$root/bin/ltecli" devices --provider cuda
		step "device values CUDA vs CPU, $core" \
			bash -c 'cd "$1/ort" && LTECLI_TEST_CUDA=1 ../bin/ort.test -test.run TestCUDAMatchesCPU -test.v -test.timeout 3m' _ "$root"
		step "Qwen3 graphs CUDA vs CPU, $core" \
			bash -c 'cd "$1/model/graph" && LTECLI_TEST_CUDA=1 ../../bin/graph.test -test.run TestCUDAModelGraphs -test.v -test.timeout 3m' _ "$root"
		step "engine CUDA vs CPU (scores, gradients, decoding), $core" \
			bash -c 'cd "$1/model/qwen3" && LTECLI_TEST_CUDA=1 ../../bin/qwen3.test -test.run TestCUDAMatchesCPU -test.v -test.timeout 4m' _ "$root"
	done
	unset ORT_LIB
	# Model checks (greedy generate on the embedded model, run --provider cuda, grad CUDA vs CPU,
	# the 0.6B-shaped benchmarks beside PyTorch) go here.

	if [ ${#failed[@]} -gt 0 ]; then
		printf 'gpu-check: FAILED: %s\n' "${failed[@]}"
		exit 1
	fi
	echo "gpu-check: all checks passed"
}

case "${1:-check}" in
pack) pack ;;
unpack) unpack ;;
check) check ;;
*)
	echo "usage: $0 [pack|unpack|check]" >&2
	exit 2
	;;
esac
