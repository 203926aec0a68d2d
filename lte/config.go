package lte

import (
	"fmt"
	"math"

	"ltecli/optim"
)

// The algorithms of `ltecli run`.
const (
	AlgoLTE       = "lte"        // hints from the model's own mistakes for none-pass problems
	AlgoGRPO      = "grpo"       // plain GRPO
	AlgoGRPOExtra = "grpo-extra" // G extra plain samples for none-pass problems: LTE's compute without the hint
)

// Config is the resolved configuration of a training run, saved in the run directory's
// run_config.json (with the run's inputs beside it; see cli's runSetup). Keys are the flags'
// names in snake case, except the loss settings, which are nested under "loss" with keys of
// their own (LossConfig).
type Config struct {
	Algo          string  `json:"algo"`
	Steps         int     `json:"steps"`
	Seed          uint64  `json:"seed"`
	BatchProblems int     `json:"batch_problems"`
	GroupSize     int     `json:"group_size"`
	HintGroupSize int     `json:"hint_group_size"` // samples per hinted (or extra) prompt
	MaxTokens     int     `json:"max_tokens"`
	Temperature   float64 `json:"temperature"`
	TopP          float64 `json:"top_p"`
	Template      string  `json:"template"`

	LR          float64    `json:"lr"`
	Schedule    string     `json:"schedule"` // optim.ParseSchedule kind; lr and total come from LR and Steps
	Warmup      int        `json:"warmup"`
	MinLRRatio  float64    `json:"min_lr_ratio"`
	WeightDecay float64    `json:"weight_decay"`
	MaxGradNorm float64    `json:"max_grad_norm"`
	Loss        LossConfig `json:"loss"`
	ScaleByStd  bool       `json:"scale_by_std"` // false: Dr. GRPO advantages
	PPOEpochs   int        `json:"ppo_epochs"`
	MiniBatches int        `json:"mini_batches"`
	MicroTokens int        `json:"micro_tokens"` // padded tokens per micro-batch (0: no split)
	GenBatch    int        `json:"gen_batch"`    // prompts per generation call (0: all)

	BufferMode          string `json:"buffer_mode"` // step, window=N, all
	BufferMax           int    `json:"buffer_max"`
	HintMaxAnswers      int    `json:"hint_max_answers"`
	HintTemplate        string `json:"hint_template"`         // the template text ("" default; "@file", as older runs recorded it, reads the file)
	ConciseHintTemplate string `json:"concise_hint_template"` // likewise
	ConciseTemplate     string `json:"concise_template"`      // likewise

	CheckpointEvery int `json:"checkpoint_every"`
	KeepCheckpoints int `json:"keep_checkpoints"`
}

// DefaultConfig is the paper's setting where it is known (G = 8, temperature 1, clip 0.2, no
// KL, gamma 0.1 with the denominator) at a size a CPU can run.
func DefaultConfig() Config {
	return Config{
		Algo: AlgoLTE, Steps: 100, Seed: 1, BatchProblems: 8, GroupSize: 8, MaxTokens: 1024,
		Temperature: 1, TopP: 1, Template: "qwen-boxed",
		LR: 1e-6, Schedule: optim.Constant, WeightDecay: 0.01, MaxGradNorm: 1,
		Loss: DefaultLossConfig(), ScaleByStd: true, PPOEpochs: 1, MiniBatches: 1,
		BufferMode: "step", BufferMax: 16, HintMaxAnswers: 8,
		CheckpointEvery: 50, KeepCheckpoints: 2,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch c.Algo {
	case AlgoLTE, AlgoGRPO, AlgoGRPOExtra:
	default:
		return fmt.Errorf("unknown algorithm %q (want lte, grpo or grpo-extra)", c.Algo)
	}
	switch {
	case c.Steps < 1:
		return fmt.Errorf("steps must be at least 1, got %d", c.Steps)
	case c.BatchProblems < 1:
		return fmt.Errorf("batch problems must be at least 1, got %d", c.BatchProblems)
	case c.GroupSize < 2:
		return fmt.Errorf("group size must be at least 2 (GRPO compares samples), got %d", c.GroupSize)
	case c.MaxTokens < 1:
		return fmt.Errorf("max tokens must be at least 1, got %d", c.MaxTokens)
	case !(c.Temperature > 0) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("training temperature must be a positive number, got %g", c.Temperature)
	case !(c.TopP > 0 && c.TopP <= 1):
		return fmt.Errorf("top-p must be in (0, 1], got %g", c.TopP)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("weight decay must be a finite number >= 0, got %g", c.WeightDecay)
	case !(c.MaxGradNorm >= 0) || math.IsInf(c.MaxGradNorm, 0):
		return fmt.Errorf("max grad norm must be a finite number >= 0 (0: no clipping), got %g", c.MaxGradNorm)
	case c.BufferMax < 1 || c.HintMaxAnswers < 1:
		return fmt.Errorf("buffer max (%d) and hint max answers (%d) must be at least 1", c.BufferMax, c.HintMaxAnswers)
	case c.MicroTokens < 0 || c.GenBatch < 0 || c.CheckpointEvery < 0 || c.KeepCheckpoints < 0:
		return fmt.Errorf("micro tokens (%d), gen batch (%d), checkpoint every (%d) and keep checkpoints (%d) must be >= 0", c.MicroTokens, c.GenBatch, c.CheckpointEvery, c.KeepCheckpoints)
	case c.PPOEpochs < 1 || c.MiniBatches < 1:
		return fmt.Errorf("ppo epochs (%d) and mini-batches (%d) must be at least 1", c.PPOEpochs, c.MiniBatches)
	case c.HintGroupSize < 0:
		return fmt.Errorf("hint group size must be >= 0, got %d", c.HintGroupSize)
	}
	if _, err := ParseBufferMode(c.BufferMode); err != nil {
		return err
	}
	if _, err := c.schedule(); err != nil {
		return err
	}
	return c.Loss.Validate()
}

func (c Config) schedule() (optim.ScheduleConfig, error) {
	s, err := optim.ParseSchedule(c.Schedule)
	if err != nil {
		return s, err
	}
	s.PeakLR, s.WarmupSteps, s.TotalSteps, s.MinRatio = c.LR, c.Warmup, c.Steps, c.MinLRRatio
	return s, s.Validate()
}

func (c Config) hintGroupSize() int {
	if c.HintGroupSize > 0 {
		return c.HintGroupSize
	}
	return c.GroupSize
}
