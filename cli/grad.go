package cli

import (
	"fmt"

	"ltecli/lte"
	"ltecli/weights"
)

// GradCmd evaluates the loss of one batch and writes its gradient: the reference dump for
// comparing with other implementations.
type GradCmd struct {
	Model       string  `name:"model" required:"" type:"path" help:"Hugging Face Qwen3 folder."`
	Batch       string  `name:"batch" required:"" type:"existingfile" help:"Batch JSON (sequences, prompt_lens, advantages, old_logp, ref_logp, off_policy, loss)."`
	Out         string  `name:"out" required:"" type:"path" help:"Output .safetensors: the gradient of every parameter, loss, logp and entropy."`
	Temperature float64 `name:"temperature" default:"1" help:"Temperature of the scored distribution (logits / T)."`
	MicroTokens int     `name:"micro-tokens" default:"0" help:"Padded tokens per micro-batch (0: one batch)."`
}

// Run computes and writes the gradient.
func (c *GradCmd) Run(g *Globals) error {
	m, batch, err := g.modelAndBatch(c.Model, c.Batch)
	if err != nil {
		return err
	}
	defer m.Close()
	seqs := batch.TrainSeqs()
	current, err := lte.ScoreSequences(m, seqs, c.Temperature, c.MicroTokens)
	if err != nil {
		return err
	}
	grads := m.Params.ZerosLike()
	res, err := lte.Gradient(m, seqs, current, batch.Loss, c.Temperature, c.MicroTokens, grads)
	if err != nil {
		return err
	}
	var logp, entropy []float32
	for _, s := range current {
		for t := range s.Logp {
			logp = append(logp, float32(s.Logp[t]))
			entropy = append(entropy, float32(s.Entropy[t]))
		}
	}
	tensors := append(grads.Tensors(),
		weights.FromFloat32("loss", []int64{}, []float32{float32(res.Loss)}, weights.F32),
		weights.FromFloat32("logp", []int64{int64(len(logp))}, logp, weights.F32),
		weights.FromFloat32("entropy", []int64{int64(len(entropy))}, entropy, weights.F32))
	meta := map[string]string{"loss": fmt.Sprintf("%.17g", res.Loss), "tokens": fmt.Sprint(res.Tokens)}
	if err := weights.WriteFile(c.Out, tensors, meta); err != nil {
		return err
	}
	fmt.Printf("loss %.9g over %d response tokens; gradient of %d tensors written to %s\n", res.Loss, res.Tokens, len(grads.Views), c.Out)
	return nil
}
