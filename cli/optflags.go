package cli

// Flag groups that several commands share, embedded with kong's embed:"". A command sets a
// group's defaults through kong variables on the embedding field (set:"lr=1e-3"), so each
// flag is declared once and each command's default is written once, beside it.

// OptimizerFlags are AdamW's settings and the micro-batch size of the gradient, shared by
// run, sft and step. Variables: lr (the default learning rate; run's 0 stands for the model's
// default), lr_default (its wording in the help), micro_tokens.
type OptimizerFlags struct {
	LR          float64 `name:"lr" default:"${lr}" placeholder:"LR" help:"Peak learning rate (default ${lr_default})."`
	WeightDecay float64 `name:"weight-decay" default:"0.01" help:"AdamW decoupled weight decay (tensors of two or more dimensions; none on norms)."`
	MaxGradNorm float64 `name:"max-grad-norm" default:"1" help:"Global gradient-norm clip (0: none)."`
	MicroTokens int     `name:"micro-tokens" default:"${micro_tokens}" help:"Padded tokens per micro-batch (gradient accumulation; 0: one batch)."`
}

// ScheduleFlags are the learning-rate schedule, shared by run and sft. Variables: schedule,
// warmup, min_lr_ratio (run's from runDefaults).
type ScheduleFlags struct {
	Schedule   string  `name:"schedule" default:"${schedule}" enum:"constant,linear,cosine" help:"Learning-rate schedule."`
	Warmup     int     `name:"warmup" default:"${warmup}" help:"Linear warm-up, in steps (for run, training steps: the schedule advances once per training step, whatever --mini-batches and --ppo-epochs)."`
	MinLRRatio float64 `name:"min-lr-ratio" default:"${min_lr_ratio}" help:"Floor of linear and cosine schedules, as a fraction of --lr."`
}
