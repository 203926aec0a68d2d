package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/model/tokenizer/bpetrain"
	"ltecli/weights"
)

// TinyModel is the shape of the demonstration model: a Qwen3 of about half a million
// parameters. Its vocabulary size and special token ids come from the trained tokenizer.
type TinyModel struct {
	HiddenSize, IntermediateSize, Layers, Heads, KVHeads, HeadDim int
	MaxPositions                                                  int
}

// AssetSpec says what BuildTinyAssets makes.
type AssetSpec struct {
	Seed       uint64
	Task       Config
	Template   string // prompt template of the SFT prompts
	Train, Val int    // problems in the splits
	SFT        int    // SFT examples
	VocabSize  int    // tokenizer vocabulary at most, special tokens included
	Model      TinyModel
}

// DefaultAssetSpec is the embedded demonstration's: 64 training and 64 validation problems,
// 20000 SFT examples, a 512-token vocabulary, and a 3-layer Qwen3 with hidden size 128.
func DefaultAssetSpec(seed uint64) AssetSpec {
	return AssetSpec{
		Seed: seed, Task: DefaultConfig(), Template: "qwen-boxed",
		Train: 64, Val: 64, SFT: 20000, VocabSize: 512,
		Model: TinyModel{HiddenSize: 128, IntermediateSize: 256, Layers: 3, Heads: 4, KVHeads: 2, HeadDim: 32, MaxPositions: 512},
	}
}

// Files written by BuildTinyAssets.
const (
	TrainFile = "train.jsonl"
	ValFile   = "val.jsonl"
	SFTFile   = "sft.jsonl"
)

// initStd is the standard deviation of the initial weights (Hugging Face's initializer_range).
const initStd = 0.02

// BuildTinyAssets writes into outDir (created if needed) everything the demonstration starts
// from: the problem splits (train.jsonl, val.jsonl), the SFT data (sft.jsonl), a tokenizer
// trained on the SFT text (tokenizer.json, tokenizer_config.json) and a randomly initialized
// Qwen3 (config.json, model.safetensors) for SFT to warm up. The same spec gives the same
// files.
func BuildTinyAssets(outDir string, spec AssetSpec) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	splits, err := NewSplits(spec.Task, spec.Seed, spec.Train, spec.Val)
	if err != nil {
		return err
	}
	if err := WriteProblems(filepath.Join(outDir, TrainFile), Problems("train", splits.Train)); err != nil {
		return err
	}
	if err := WriteProblems(filepath.Join(outDir, ValFile), Problems("val", splits.Val)); err != nil {
		return err
	}
	examples, err := BuildSFT(SFTConfig{Task: spec.Task, Template: spec.Template, Examples: spec.SFT, Seed: spec.Seed}, splits)
	if err != nil {
		return err
	}
	if err := WriteExamples(filepath.Join(outDir, SFTFile), examples); err != nil {
		return err
	}

	corpus := make([]string, 0, len(examples))
	for _, ex := range examples {
		corpus = append(corpus, ex.Prompt+ex.Response+bpetrain.IMEnd)
	}
	tokJSON, tokConfig, err := bpetrain.Train(corpus, spec.VocabSize)
	if err != nil {
		return err
	}
	tok, err := tokenizer.New(tokJSON, tokConfig)
	if err != nil {
		return fmt.Errorf("trained tokenizer: %w", err)
	}
	for name, data := range map[string][]byte{"tokenizer.json": tokJSON, "tokenizer_config.json": tokConfig} {
		if err := os.WriteFile(filepath.Join(outDir, name), data, 0o644); err != nil {
			return err
		}
	}

	eos, _ := tok.EOS()
	bos, _ := tok.PAD() // Qwen3's config names <|endoftext|> as bos_token_id
	config := modelConfig(spec.Model, roundUp(tok.VocabSize(), 8), bos, eos)
	raw, err := marshalConfig(config)
	if err != nil {
		return err
	}
	cfg, err := qwen3.ParseConfig(raw)
	if err != nil {
		return fmt.Errorf("tiny model config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	params, err := initParams(cfg, spec.Seed)
	if err != nil {
		return err
	}
	return params.Save(filepath.Join(outDir, "model.safetensors"), map[string]string{"format": "pt"})
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// initParams returns seeded initial weights: normal with standard deviation initStd, norm
// weights (the only one-dimensional tensors of Qwen3) 1.
func initParams(cfg qwen3.Config, seed uint64) (*weights.Store, error) {
	store, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x696e6974)) // "init"
	for _, v := range store.Views {
		data := store.Slice(v)
		for i := range data {
			if len(v.Shape) == 1 {
				data[i] = 1
			} else {
				data[i] = float32(r.NormFloat64() * initStd)
			}
		}
	}
	return store, nil
}

// hfConfig is config.json as transformers writes it for Qwen3, keys sorted.
type hfConfig struct {
	Architectures         []string  `json:"architectures"`
	AttentionBias         bool      `json:"attention_bias"`
	AttentionDropout      float64   `json:"attention_dropout"`
	BOSTokenID            int       `json:"bos_token_id"`
	EOSTokenID            int       `json:"eos_token_id"`
	HeadDim               int       `json:"head_dim"`
	HiddenAct             string    `json:"hidden_act"`
	HiddenSize            int       `json:"hidden_size"`
	InitializerRange      float64   `json:"initializer_range"`
	IntermediateSize      int       `json:"intermediate_size"`
	MaxPositionEmbeddings int       `json:"max_position_embeddings"`
	MaxWindowLayers       int       `json:"max_window_layers"`
	ModelType             string    `json:"model_type"`
	NumAttentionHeads     int       `json:"num_attention_heads"`
	NumHiddenLayers       int       `json:"num_hidden_layers"`
	NumKeyValueHeads      int       `json:"num_key_value_heads"`
	RMSNormEps            float64   `json:"rms_norm_eps"`
	RopeScaling           *struct{} `json:"rope_scaling"`
	RopeTheta             float64   `json:"rope_theta"`
	SlidingWindow         *int      `json:"sliding_window"`
	TieWordEmbeddings     bool      `json:"tie_word_embeddings"`
	TorchDType            string    `json:"torch_dtype"`
	UseCache              bool      `json:"use_cache"`
	UseSlidingWindow      bool      `json:"use_sliding_window"`
	VocabSize             int       `json:"vocab_size"`
}

func modelConfig(m TinyModel, vocab, bos, eos int) hfConfig {
	return hfConfig{
		Architectures: []string{"Qwen3ForCausalLM"}, BOSTokenID: bos, EOSTokenID: eos,
		HeadDim: m.HeadDim, HiddenAct: "silu", HiddenSize: m.HiddenSize, InitializerRange: initStd,
		IntermediateSize: m.IntermediateSize, MaxPositionEmbeddings: m.MaxPositions, MaxWindowLayers: m.Layers,
		ModelType: "qwen3", NumAttentionHeads: m.Heads, NumHiddenLayers: m.Layers, NumKeyValueHeads: m.KVHeads,
		RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, TorchDType: "float32", UseCache: true,
		VocabSize: vocab,
	}
}

func marshalConfig(c hfConfig) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
