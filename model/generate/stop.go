package generate

import (
	"encoding/json"
	"os"
	"path/filepath"

	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
)

// StopIDs are the tokens that end a response: eos_token_id of config.json and of
// generation_config.json in modelDir (when present), the tokenizer's eos token, and
// <|im_end|> and <|endoftext|> when the vocabulary has them.
func StopIDs(cfg qwen3.Config, tok *tokenizer.Tokenizer, modelDir string) []int {
	seen := map[int]bool{}
	var out []int
	add := func(id int) {
		if id >= 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range cfg.EOSTokenIDs() {
		add(id)
	}
	if raw, err := os.ReadFile(filepath.Join(modelDir, "generation_config.json")); err == nil {
		var gc struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if json.Unmarshal(raw, &gc) == nil && len(gc.EOS) > 0 {
			var one int
			var many []int
			if json.Unmarshal(gc.EOS, &one) == nil {
				add(one)
			} else if json.Unmarshal(gc.EOS, &many) == nil {
				for _, id := range many {
					add(id)
				}
			}
		}
	}
	if id, ok := tok.EOS(); ok {
		add(id)
	}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		if id, ok := tok.TokenID(s); ok {
			add(id)
		}
	}
	return out
}
