package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"ltecli/lte"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
)

// SFTCmd fine-tunes a model with cross-entropy on response tokens.
type SFTCmd struct {
	Model          string `name:"model" required:"" type:"path" help:"Hugging Face Qwen3 folder to start from."`
	Data           string `name:"data" required:"" type:"existingfile" help:"JSON lines {\"prompt\": ..., \"response\": ...}; prompts are used as written."`
	Out            string `name:"out" required:"" type:"path" help:"Run directory; the final model is written to OUT/model."`
	Epochs         int    `name:"epochs" default:"3" help:"Passes over the data."`
	BatchSize      int    `name:"batch-size" default:"32" help:"Sequences per step."`
	OptimizerFlags `embed:"" set:"lr=1e-3" set:"lr_default=1e-3" set:"micro_tokens=8192"`
	ScheduleFlags  `embed:"" set:"schedule=cosine" set:"warmup=10" set:"min_lr_ratio=0.1"`
	Seed           uint64 `name:"seed" default:"1" help:"Seed of the data order."`
	Every          int    `name:"checkpoint-every" default:"0" help:"Checkpoint every N steps (0: only at the end)."`
}

// Run trains and writes OUT/model.
func (c *SFTCmd) Run(g *Globals) error {
	in := watchInterrupts(context.Background())
	defer in.stop()
	lock, err := lockDir(c.Out, "sft folder")
	if err != nil {
		return err
	}
	defer lock.release()
	examples, err := lte.LoadSFT(c.Data)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(c.Model)
	if err != nil {
		return err
	}
	stopID, ok := tok.EOS()
	if !ok {
		return fmt.Errorf("%s: tokenizer_config.json names no eos_token to end responses with", c.Model)
	}
	m, err := g.loadModel(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	cfg := lte.SFTConfig{Epochs: c.Epochs, BatchSize: c.BatchSize, LR: c.LR, Schedule: c.Schedule, Warmup: c.Warmup,
		MinLRRatio: c.MinLRRatio, WeightDecay: c.WeightDecay, MaxGradNorm: c.MaxGradNorm, Seed: c.Seed, MicroTokens: c.MicroTokens}
	sft, err := lte.NewSFT(cfg, m, tok, stopID, examples)
	if err != nil {
		return err
	}
	rd, err := lte.CreateRunDir(c.Out, struct {
		lte.SFTConfig
		Model string `json:"model"`
		Data  string `json:"data"`
	}{cfg, c.Model, c.Data})
	if err != nil {
		return err
	}
	defer rd.Close()
	progress := newProgress(os.Stderr, "sft", sft.TotalSteps(), 0)
	sft.Hooks = []lte.Hook{
		{Name: "progress", Every: 1, Fn: func(step int, m *lte.Metrics) error {
			progress.update(step, m)
			return nil
		}},
		{Name: "metrics", Every: 1, Fn: func(step int, m *lte.Metrics) error {
			return in.write(func() error { return rd.WriteMetrics(m) })
		}},
		{Name: "checkpoint", Every: c.Every, Fn: func(step int, _ *lte.Metrics) error {
			return in.write(func() error {
				_, err := rd.SaveCheckpoint(step, m.Params, sft.Opt, nil, c.Model, 2)
				return err
			})
		}},
	}
	in.where = func() string { return fmt.Sprintf(" after step %d; %s holds no final model", sft.Step, c.Out) }
	err = sft.Run(in.ctx)
	progress.done()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	out := filepath.Join(c.Out, "model")
	if err := in.write(func() error { return qwen3.SaveModel(out, c.Model, m.Params) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sft: %d steps on %d examples; model written to %s\n", sft.Step, len(examples), out)
	return err
}
