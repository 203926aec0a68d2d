package qwen3_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
	"ltecli/weights"
)

// TestParseConfigRefusesBadValues plays corrupt config.json values: each is refused with the
// field's name before anything is sized by it, and none panics.
func TestParseConfigRefusesBadValues(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"model_type": "qwen3", "vocab_size": 264, "hidden_size": 16, "intermediate_size": 32,
			"num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8}
	}
	cases := []struct {
		field string
		value any
		want  string // "" means accepted
	}{
		{"rms_norm_eps", 1e-5, ""},
		{"rms_norm_eps", -1, "rms_norm_eps must be a positive number, got -1"},
		{"rms_norm_eps", json.RawMessage("1e400"), "malformed config"},
		{"rope_theta", -10000, "rope_theta must be a positive number"},
		{"hidden_size", 1000000000000, "hidden_size 1000000000000 is beyond the largest supported"},
		{"hidden_size", json.RawMessage("1e12"), "malformed config"},
		{"vocab_size", -3, "vocab_size must be positive"},
		{"num_hidden_layers", 1 << 40, "num_hidden_layers 1099511627776 is beyond"},
		{"intermediate_size", 1 << 20, "parameters, beyond the supported"},
		{"max_position_embeddings", -1, "max_position_embeddings must not be negative"},
		{"head_dim", 1 << 30, "head_dim 1073741824 is beyond"},
	}
	for _, c := range cases {
		m := base()
		m[c.field] = c.value
		if c.field == "intermediate_size" {
			m["hidden_size"], m["num_hidden_layers"], m["head_dim"] = 1<<17, 1<<10, 64
		}
		raw, _ := json.Marshal(m)
		_, err := qwen3.ParseConfig(raw)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s = %v: %v", c.field, c.value, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s = %v: error %v, want one containing %q", c.field, c.value, err, c.want)
		}
	}
}

// TestLoadRefusesMismatchedCheckpoint reads a 2-layer checkpoint with configs of 1 and 3
// layers: the first leaves tensors unused, the second lacks some; both are errors.
func TestLoadRefusesMismatchedCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	if _, err := qwen3test.Write(dir, qwen3test.Config(true), 1, 0.1, weights.F32); err != nil {
		t.Fatal(err)
	}
	if _, err := qwen3.Load(dir, qwen3.Options{}); err != nil {
		t.Fatalf("matching config: %v", err)
	}
	for _, c := range []struct {
		layers int
		want   []string
	}{
		{1, []string{"holds 11 tensors its config.json does not use", "model.layers.1.", "and 8 more", "num_hidden_layers 1"}},
		{3, []string{`has no tensor "model.layers.2.input_layernorm.weight"`}},
	} {
		cfg := qwen3test.Config(true)
		cfg.NumHiddenLayers = c.layers
		raw, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := qwen3.Load(dir, qwen3.Options{})
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%d layers: error %v, want %q", c.layers, err, w)
			}
		}
	}
}
