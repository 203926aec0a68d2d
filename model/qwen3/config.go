package qwen3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Config is the part of a Hugging Face Qwen3 config.json the model uses. Fields that would
// change the computation and are not implemented are refused by Validate, so that a checkpoint
// is never run with the wrong math.
type Config struct {
	ModelType             string  `json:"model_type"`
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	IntermediateSize      int     `json:"intermediate_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	NumKeyValueHeads      int     `json:"num_key_value_heads"`
	HeadDim               int     `json:"head_dim"`
	RMSNormEps            float64 `json:"rms_norm_eps"`
	RopeTheta             float64 `json:"rope_theta"`
	TieWordEmbeddings     bool    `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	HiddenAct             string  `json:"hidden_act"`
	TorchDType            string  `json:"torch_dtype"`
	BOSTokenID            *int    `json:"bos_token_id"`
	EOSTokenID            eosIDs  `json:"eos_token_id"`

	// Refused when set to anything that changes the math.
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	UseSlidingWindow  bool            `json:"use_sliding_window"`
	SlidingWindow     *int            `json:"sliding_window"`
	AttentionBias     bool            `json:"attention_bias"`
	NumExperts        int             `json:"num_experts"`
	NumExpertsPerTok  int             `json:"num_experts_per_tok"`
	AttentionDropout  float64         `json:"attention_dropout"`
	LayerTypes        []string        `json:"layer_types"`
	MaxWindowLayers   int             `json:"max_window_layers"`
	Architectures     []string        `json:"architectures"`
	InitializerRange  float64         `json:"initializer_range"`
	UseCache          bool            `json:"use_cache"`
	TransformersVer   string          `json:"transformers_version"`
	DecoderSparseStep int             `json:"decoder_sparse_step"`
}

// eosIDs accepts eos_token_id as a number or a list of numbers.
type eosIDs []int

func (e *eosIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*e = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var ids []int
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
		*e = ids
		return nil
	}
	var id int
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	*e = []int{id}
	return nil
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("model config: %w", err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes config.json bytes, fills defaults as transformers does (head_dim =
// hidden/heads, num_key_value_heads = heads, rms_norm_eps 1e-6, rope_theta 10000) and
// validates the result.
func ParseConfig(raw []byte) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return Config{}, fmt.Errorf("malformed config: %w", err)
	}
	if cfg.NumKeyValueHeads == 0 {
		cfg.NumKeyValueHeads = cfg.NumAttentionHeads
	}
	if cfg.HeadDim == 0 && cfg.NumAttentionHeads > 0 {
		cfg.HeadDim = cfg.HiddenSize / cfg.NumAttentionHeads
	}
	if cfg.RMSNormEps == 0 {
		cfg.RMSNormEps = 1e-6
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.HiddenAct == "" {
		cfg.HiddenAct = "silu"
	}
	return cfg, cfg.Validate()
}

// sizeLimits bound each size of a config far above any released Qwen3 (hidden 5120, 64
// layers, vocabulary 151,936), so that a corrupt value is refused before it sizes an
// allocation and the products of sizes cannot overflow.
var sizeLimits = map[string]int{
	"vocab_size": 1 << 22, "hidden_size": 1 << 17, "intermediate_size": 1 << 20,
	"num_hidden_layers": 1 << 10, "num_attention_heads": 1 << 10, "num_key_value_heads": 1 << 10,
	"head_dim": 1 << 12,
}

// maxParams bounds a model's parameter count (2^36, about 69 billion: 275 GB in fp32).
const maxParams = 1 << 36

// Validate refuses configurations the model does not compute exactly, and sizes no machine
// could hold.
func (c Config) Validate() error {
	if c.ModelType != "" && c.ModelType != "qwen3" {
		return fmt.Errorf("model_type %q is not supported (want qwen3)", c.ModelType)
	}
	positive := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads}, {"head_dim", c.HeadDim},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", p.name, p.v)
		}
		if limit := sizeLimits[p.name]; p.v > limit {
			return fmt.Errorf("%s %d is beyond the largest supported, %d: config.json is probably corrupt", p.name, p.v, limit)
		}
	}
	if c.MaxPositionEmbeddings < 0 {
		return fmt.Errorf("max_position_embeddings must not be negative, got %d", c.MaxPositionEmbeddings)
	}
	if n := c.NumParams(); n > maxParams {
		return fmt.Errorf("the config describes %d parameters, beyond the supported %d: config.json is probably corrupt", n, int64(maxParams))
	}
	if !(c.RMSNormEps > 0) || math.IsInf(c.RMSNormEps, 0) {
		return fmt.Errorf("rms_norm_eps must be a positive number, got %g", c.RMSNormEps)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return fmt.Errorf("rope_theta must be a positive number, got %g", c.RopeTheta)
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	if s := bytes.TrimSpace(c.RopeScaling); len(s) > 0 && !bytes.Equal(s, []byte("null")) {
		return fmt.Errorf("rope_scaling %s is not supported", s)
	}
	if c.UseSlidingWindow {
		return fmt.Errorf("use_sliding_window is not supported")
	}
	for _, t := range c.LayerTypes {
		if t != "full_attention" {
			return fmt.Errorf("layer_types entry %q is not supported (only full_attention)", t)
		}
	}
	if c.AttentionBias {
		return fmt.Errorf("attention_bias is not supported")
	}
	if c.NumExperts > 0 {
		return fmt.Errorf("num_experts %d: mixture-of-experts models are not supported", c.NumExperts)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q is not supported (want silu)", c.HiddenAct)
	}
	return nil
}

// EOSTokenIDs returns the end-of-sequence ids named by the config.
func (c Config) EOSTokenIDs() []int { return append([]int(nil), c.EOSTokenID...) }

// NumParams counts the parameters of the model described by c (lm_head counted once when tied).
func (c Config) NumParams() int64 {
	h, i, v := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.VocabSize)
	q := int64(c.NumAttentionHeads * c.HeadDim)
	kv := int64(c.NumKeyValueHeads * c.HeadDim)
	perLayer := h*q + 2*h*kv + q*h + 3*h*i + 2*h + 2*int64(c.HeadDim)
	n := v*h + int64(c.NumHiddenLayers)*perLayer + h
	if !c.TieWordEmbeddings {
		n += v * h
	}
	return n
}
