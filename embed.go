// Package ltecli holds what the binary carries with it: the embedded default of `ltecli run`,
// a tiny Qwen3 warm-started by SFT on the synthetic task, with the task's problem splits
// (rebuilt by `make tiny-model`).
package ltecli

import _ "embed"

// TinyArchive is testdata/tiny.tar.zst: a zstd-compressed tar of the model folder
// (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) and train.jsonl,
// val.jsonl.
//
//go:embed testdata/tiny.tar.zst
var TinyArchive []byte
