package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"ltecli/model/generate"
	"ltecli/model/tokenizer"
)

// GenerateCmd samples continuations of one prompt.
type GenerateCmd struct {
	Model       string  `name:"model" required:"" type:"path" help:"Hugging Face Qwen3 folder."`
	Prompt      string  `name:"prompt" required:"" help:"Prompt text, tokenized as is (no special tokens added)."`
	Template    string  `name:"template" help:"Wrap the prompt in a prompt template (a name such as qwen-boxed, or a file)."`
	N           int     `name:"n" default:"1" help:"Samples."`
	MaxTokens   int     `name:"max-tokens" default:"256" help:"New tokens per sample at most."`
	Temperature float64 `name:"temperature" default:"1" help:"Sampling temperature (0: greedy)."`
	TopP        float64 `name:"top-p" default:"1" help:"Nucleus mass."`
	TopK        int     `name:"top-k" default:"0" help:"Sample among the K most probable tokens (0: all)."`
	Seed        uint64  `name:"seed" default:"0" help:"Random seed: the same seed gives the same samples."`
	JSON        bool    `name:"json" help:"One JSON line per sample: text, ids (stop token excluded), finish_reason."`
}

// Run generates and prints the samples.
func (c *GenerateCmd) Run(g *Globals) error {
	tok, err := tokenizer.Load(c.Model)
	if err != nil {
		return err
	}
	m, err := g.loadModel(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	text := c.Prompt
	if c.Template != "" {
		t, err := tokenizer.FindTemplate(c.Template)
		if err != nil {
			return err
		}
		if text, err = t.Render(c.Prompt); err != nil {
			return err
		}
	}
	ids := tok.Encode(text)
	if len(ids) == 0 {
		return fmt.Errorf("the prompt encodes to no tokens")
	}
	if ctx := m.Config.MaxPositionEmbeddings; ctx > 0 && len(ids)+c.MaxTokens > ctx {
		return fmt.Errorf("the prompt is %d tokens; with --max-tokens %d it does not fit in the model's context of %d tokens (max_position_embeddings)", len(ids), c.MaxTokens, ctx)
	}
	samples, err := generate.Generate(m, m.Config.VocabSize, [][]int{ids}, generate.Params{
		N: c.N, MaxNewTokens: c.MaxTokens, Temperature: c.Temperature, TopP: c.TopP, TopK: c.TopK,
		Seed: c.Seed, StopIDs: generate.StopIDs(m.Config, tok, c.Model),
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	for i, s := range samples {
		out := tok.Decode(s.IDs)
		if c.JSON {
			ids := s.IDs
			if ids == nil {
				ids = []int{}
			}
			if err := enc.Encode(map[string]any{"text": out, "ids": ids, "finish_reason": s.FinishReason}); err != nil {
				return err
			}
			continue
		}
		if c.N > 1 {
			fmt.Printf("--- sample %d (%s)\n", i, s.FinishReason)
		}
		fmt.Println(out)
	}
	return nil
}
