package lte

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"ltecli/lte/jsonl"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/optim"
	"ltecli/weights"
)

// SFTExample is one supervised pair: the model learns Response (then the stop token) after
// Prompt, which is used as written (already templated).
type SFTExample struct {
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
}

// LoadSFT reads JSON lines {"prompt": ..., "response": ...}.
func LoadSFT(path string) ([]SFTExample, error) {
	var out []SFTExample
	err := jsonl.ReadFile(path, func(raw []byte) error {
		var ex SFTExample
		if err := json.Unmarshal(raw, &ex); err != nil {
			return err
		}
		if ex.Prompt == "" || ex.Response == "" {
			return fmt.Errorf("needs a non-empty prompt and response")
		}
		out = append(out, ex)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples", path)
	}
	return out, nil
}

// SFTConfig configures supervised fine-tuning.
type SFTConfig struct {
	Epochs      int     `json:"epochs"`
	BatchSize   int     `json:"batch_size"` // sequences per step
	LR          float64 `json:"lr"`
	Schedule    string  `json:"schedule"`
	Warmup      int     `json:"warmup"`
	MinLRRatio  float64 `json:"min_lr_ratio"`
	WeightDecay float64 `json:"weight_decay"`
	MaxGradNorm float64 `json:"max_grad_norm"`
	Seed        uint64  `json:"seed"`
	MicroTokens int     `json:"micro_tokens"`
}

// SFT trains a model with cross-entropy on response tokens (prompt tokens are not trained):
// the gradient goes through score_vjp with d_logp = -1/N on the N response tokens of a batch.
type SFT struct {
	Config   SFTConfig
	Model    *qwen3.Model
	Examples []TrainSeq
	Opt      *optim.AdamW
	Step     int
	// Hooks run around the steps (see Loop): metrics, checkpoints.
	Hooks []Hook
}

// NewSFT tokenizes the examples (appending stop after each response) and prepares AdamW.
func NewSFT(cfg SFTConfig, model *qwen3.Model, tok *tokenizer.Tokenizer, stop int, examples []SFTExample) (*SFT, error) {
	if cfg.Epochs < 1 || cfg.BatchSize < 1 {
		return nil, fmt.Errorf("sft: epochs (%d) and batch size (%d) must be at least 1", cfg.Epochs, cfg.BatchSize)
	}
	seqs := make([]TrainSeq, len(examples))
	for i, ex := range examples {
		p := tok.Encode(ex.Prompt)
		r := append(tok.Encode(ex.Response), stop)
		if len(p) == 0 {
			return nil, fmt.Errorf("sft: example %d has an empty prompt", i)
		}
		seqs[i] = TrainSeq{IDs: append(p, r...), PromptLen: len(p)}
	}
	s := &SFT{Config: cfg, Model: model, Examples: seqs}
	steps := s.TotalSteps()
	sched, err := optim.ParseSchedule(cfg.Schedule)
	if err != nil {
		return nil, err
	}
	sched.PeakLR, sched.WarmupSteps, sched.TotalSteps, sched.MinRatio = cfg.LR, cfg.Warmup, steps, cfg.MinLRRatio
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	ocfg := optim.DefaultAdamW()
	ocfg.LR, ocfg.WeightDecay = cfg.LR, cfg.WeightDecay
	s.Opt = optim.NewAdamW(model.Params, ocfg)
	s.Opt.Schedule = sched
	return s, nil
}

// TotalSteps is the number of optimizer steps of the run.
func (s *SFT) TotalSteps() int {
	per := (len(s.Examples) + s.Config.BatchSize - 1) / s.Config.BatchSize
	return per * s.Config.Epochs
}

// Run trains until every epoch is done or ctx is cancelled (after the current step), running
// Hooks (see Loop).
func (s *SFT) Run(ctx context.Context) error {
	per := (len(s.Examples) + s.Config.BatchSize - 1) / s.Config.BatchSize
	grads := s.Model.Params.ZerosLike()
	return Loop(ctx, &s.Step, s.TotalSteps(), s.Hooks, func() (*Metrics, error) {
		start := time.Now()
		epoch, k := s.Step/per, s.Step%per
		order := rand.New(rand.NewPCG(s.Config.Seed, uint64(epoch))).Perm(len(s.Examples))
		lo, hi := k*s.Config.BatchSize, min((k+1)*s.Config.BatchSize, len(order))
		batch := make([]TrainSeq, 0, hi-lo)
		tokens := 0
		for _, i := range order[lo:hi] {
			batch = append(batch, s.Examples[i])
			tokens += s.Examples[i].ResponseLen()
		}
		loss, err := s.gradient(batch, tokens, grads)
		if err != nil {
			return nil, err
		}
		lr := s.Opt.LR()
		norm, skipped, err := s.Opt.StepWithClip(s.Model.Params, grads, lr, s.Config.MaxGradNorm)
		if err != nil {
			return nil, err
		}
		return &Metrics{Step: s.Step + 1, SFT: &SFTMetrics{Epoch: epoch + 1, Loss: loss, Tokens: tokens, GradNorm: norm,
			LR: lr, Skipped: skipped, StepTimeS: time.Since(start).Seconds()}}, nil
	})
}

// gradient writes the gradient of the mean response-token cross-entropy of batch into grads
// and returns the loss.
func (s *SFT) gradient(batch []TrainSeq, tokens int, grads *weights.Store) (float64, error) {
	var loss float64
	w := 1 / float64(tokens)
	err := backward(s.Model, batch, s.Config.MicroTokens, 1, grads, func(group []int, b qwen3.Batch, dLogp, _ []float32) error {
		out, err := s.Model.Score(b, 1)
		if err != nil {
			return err
		}
		for j, i := range group {
			seq := batch[i]
			for t := seq.PromptLen - 1; t < len(seq.IDs)-1; t++ {
				k := j*(b.T-1) + t
				dLogp[k] = float32(-w)
				loss -= w * float64(out.Logp[k])
			}
		}
		return nil
	})
	return loss, err
}
