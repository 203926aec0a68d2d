// Package weights reads and writes model parameters: safetensors files (F32, F16, BF16, I64,
// I32; single or sharded through model.safetensors.index.json), the flat fp32 parameter Store
// that every graph reads its parameters from, and a zstd-compressed container for optimizer
// state and other large checkpoint parts. Every write is atomic: a temporary file in the
// destination folder, fsync, rename.
package weights
