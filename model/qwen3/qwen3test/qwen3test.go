// Package qwen3test writes tiny random Qwen3 model folders for tests: config.json, a seeded
// random model.safetensors in a chosen dtype, and a byte-level tokenizer.json in the format
// Qwen3's uses (every byte a token, no merges) with the chat special tokens.
package qwen3test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"

	"ltecli/model/qwen3"
	"ltecli/weights"
)

// Special token ids of the byte tokenizer.
const (
	EndOfText = 256 // <|endoftext|>
	ImStart   = 257 // <|im_start|>
	ImEnd     = 258 // <|im_end|>
	Vocab     = 264 // the config's vocabulary (259 tokens, padded to a multiple of 8)
)

// Config is a tiny model over the byte tokenizer.
func Config(tied bool) qwen3.Config {
	return qwen3.Config{ModelType: "qwen3", VocabSize: Vocab, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8, RMSNormEps: 1e-6, RopeTheta: 10000,
		TieWordEmbeddings: tied, HiddenAct: "silu", EOSTokenID: []int{ImEnd}}
}

// Store returns parameters of cfg's layout in memory, drawn from seed: norm weights 1,
// matrices N(0, std^2).
func Store(cfg qwen3.Config, seed uint64, std float64) (*weights.Store, error) {
	s, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, v := range s.Views {
		data := s.Slice(v)
		for i := range data {
			if len(v.Shape) == 1 {
				data[i] = 1
			} else {
				data[i] = float32(std * r.NormFloat64())
			}
		}
	}
	return s, nil
}

// Write creates dir with config.json, tokenizer files and model.safetensors holding random
// parameters (matrices N(0, std^2), norm weights near 1) stored as dtype.
func Write(dir string, cfg qwen3.Config, seed uint64, std float64, dtype weights.DType) (*weights.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return nil, err
	}
	s, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	tensors := make([]weights.Tensor, len(s.Views))
	for i, v := range s.Views {
		data := s.Slice(v)
		for j := range data {
			if len(v.Shape) == 1 {
				data[j] = float32(1 + 0.1*r.NormFloat64())
			} else {
				data[j] = float32(std * r.NormFloat64())
			}
		}
		tensors[i] = weights.FromFloat32(v.Name, v.Shape, data, dtype)
		if err := weights.DecodeFloat32(data, dtype, tensors[i].Data); err != nil { // the stored values
			return nil, err
		}
	}
	if err := weights.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return nil, err
	}
	return s, WriteByteTokenizer(dir)
}

// WriteByteTokenizer writes tokenizer.json and tokenizer_config.json of the byte tokenizer.
func WriteByteTokenizer(dir string) error {
	vocab := map[string]int{}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b) // GPT-2's byte-to-unicode table: printable bytes are themselves
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
	}
	var added []map[string]any
	for i, s := range []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"} {
		added = append(added, map[string]any{"id": EndOfText + i, "content": s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added,
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, "behavior": "Isolated", "invert": false},
			byteLevel,
		}},
		"post_processor": byteLevel,
		"decoder":        byteLevel,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": []any{}},
	}
	raw, err := json.Marshal(tj)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}`), 0o644)
}
