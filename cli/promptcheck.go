package cli

import (
	"fmt"

	"ltecli/lte"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
)

// checkPromptLengths refuses, before any work, a problem whose prompt and maxTokens of
// response do not fit in the model's context (max_position_embeddings; no check when the
// config does not give it). A byte-level tokenizer never makes more tokens than bytes, so
// only prompts longer in bytes than the room left are tokenized. what names the data
// ("training problems").
func checkPromptLengths(modelDir string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, problems []lte.Problem, maxTokens int, what string) error {
	cfg, err := qwen3.LoadConfig(modelDir)
	if err != nil {
		return err
	}
	context := cfg.MaxPositionEmbeddings
	if context <= 0 {
		return nil
	}
	room := context - maxTokens
	if room < 1 {
		return fmt.Errorf("--max-tokens %d leaves no room for a prompt in the model's context of %d tokens (max_position_embeddings)", maxTokens, context)
	}
	for _, p := range problems {
		var text string
		if len(p.Messages) > 0 {
			text = lte.ChatPrompt(p.Messages)
		} else if text, err = tmpl.Render(p.Question); err != nil {
			return fmt.Errorf("%s: problem %q: %w", what, p.ID, err)
		}
		if len(text) <= room {
			continue
		}
		if n := len(tok.Encode(text)); n > room {
			return fmt.Errorf("%s: problem %q has a prompt of %d tokens; with --max-tokens %d it does not fit in the model's context of %d tokens (max_position_embeddings): shorten or remove the problem, or lower --max-tokens",
				what, p.ID, n, maxTokens, context)
		}
	}
	return nil
}
