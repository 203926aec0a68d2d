package cli

import (
	"fmt"

	"ltecli/lte"
	"ltecli/model/qwen3"
	"ltecli/optim"
)

// StepCmd runs AdamW steps on one batch, with behaviour and reference log-probs held fixed,
// and writes the updated model: the reference dump of the optimizer path.
type StepCmd struct {
	Model          string `name:"model" required:"" type:"path" help:"Hugging Face Qwen3 folder."`
	Batch          string `name:"batch" required:"" type:"existingfile" help:"Batch JSON, as for grad."`
	Steps          int    `name:"steps" default:"1" help:"AdamW steps."`
	OptimizerFlags `embed:"" set:"lr=1e-6" set:"lr_default=1e-6" set:"micro_tokens=0"`
	Out            string  `name:"out" required:"" type:"path" help:"Folder for the updated checkpoint."`
	Temperature    float64 `name:"temperature" default:"1" help:"Temperature of the scored distribution."`
	OptimizerOut   string  `name:"optimizer-out" type:"path" help:"Also save the optimizer state here."`
}

// Run performs the steps.
func (c *StepCmd) Run(g *Globals) error {
	if c.Steps < 1 {
		return fmt.Errorf("--steps must be at least 1")
	}
	m, batch, err := g.modelAndBatch(c.Model, c.Batch)
	if err != nil {
		return err
	}
	defer m.Close()
	seqs := batch.TrainSeqs()
	// Absent behaviour and reference log-probs are fixed to the initial policy's.
	initial, err := lte.ScoreSequences(m, seqs, c.Temperature, c.MicroTokens)
	if err != nil {
		return err
	}
	for i := range seqs {
		if seqs[i].Old == nil {
			seqs[i].Old = initial[i].Logp
		}
		if seqs[i].Ref == nil {
			seqs[i].Ref = initial[i].Logp
		}
	}
	cfg := optim.DefaultAdamW()
	cfg.LR, cfg.WeightDecay = c.LR, c.WeightDecay
	opt := optim.NewAdamW(m.Params, cfg)
	grads := m.Params.ZerosLike()
	for step := 1; step <= c.Steps; step++ {
		var current []lte.ScoredSeq
		if step == 1 {
			current = initial
		}
		res, err := lte.Gradient(m, seqs, current, batch.Loss, c.Temperature, c.MicroTokens, grads)
		if err != nil {
			return err
		}
		norm, skipped, err := opt.StepWithClip(m.Params, grads, c.LR, c.MaxGradNorm)
		if err != nil {
			return err
		}
		fmt.Printf("step %d: loss %.9g, grad norm %.6g%s\n", step, res.Loss, norm, map[bool]string{true: " (skipped: non-finite gradient)"}[skipped])
	}
	if err := qwen3.SaveModel(c.Out, c.Model, m.Params); err != nil {
		return err
	}
	if c.OptimizerOut != "" {
		if err := opt.Save(c.OptimizerOut, nil); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s\n", c.Out)
	return nil
}
