package cli

import (
	"fmt"
	"math"
	"strings"

	"github.com/alecthomas/kong"
)

// Flags are checked when kong has parsed them, before a command reads a file or writes one:
// a value that cannot work is a usage error (exit status 2) naming the flag.

// checkFiniteFlags refuses NaN and infinite values of every float flag of the parse.
func checkFiniteFlags(ctx *kong.Context) error {
	for _, f := range ctx.Flags() {
		var x float64
		switch v := ctx.FlagValue(f).(type) {
		case float64:
			x = v
		case *float64:
			if v == nil {
				continue
			}
			x = *v
		default:
			continue
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("--%s %g: must be a finite number", f.Name, x)
		}
	}
	return nil
}

// setFlags returns the flags given on the command line or in a --config file.
func setFlags(ctx *kong.Context) map[string]bool {
	set := map[string]bool{}
	for _, p := range ctx.Path {
		if p.Flag != nil {
			set[p.Flag.Name] = true
		}
	}
	return set
}

// rule is one check of a flag value: ok false fails with "--name value: want".
type rule struct {
	name  string
	value any
	ok    bool
	want  string
}

func firstFailed(rules []rule) error {
	for _, r := range rules {
		if !r.ok {
			return fmt.Errorf("--%s %v: %s", r.name, r.value, r.want)
		}
	}
	return nil
}

// Validate checks every flag of `ltecli run` before any work (kong calls it after parsing).
// Flags whose default depends on the model (steps, max-tokens, lr, val-n, val-every) take
// it when left out; given as 0 they are refused rather than silently replaced.
func (c *RunCmd) Validate(kctx *kong.Context) error {
	set := setFlags(kctx)
	for _, z := range []struct {
		name string
		zero bool
		want string
		dflt string
	}{
		{"steps", c.Steps == 0, "at least 1", "100"},
		{"max-tokens", c.MaxTokens == 0, "at least 1", "1024, or 24 on the embedded model"},
		{"lr", c.LR == 0, "positive", "1e-6, or 1e-4 on the embedded model"},
		{"val-n", c.ValN == 0, "at least 1", "4, or 8 on the embedded model"},
		{"val-every", c.ValEvery == 0, "at least 1", "before and after training only, every 10 steps on the embedded model"},
	} {
		if set[z.name] && z.zero {
			return fmt.Errorf("--%s 0: must be %s (leave the flag out for the default: %s)", z.name, z.want, z.dflt)
		}
	}
	if err := firstFailed([]rule{
		{"steps", c.Steps, c.Steps >= 0, "must be at least 1"},
		{"max-tokens", c.MaxTokens, c.MaxTokens >= 0, "must be at least 1"},
		{"lr", c.LR, c.LR >= 0, "must be positive"},
		{"val-n", c.ValN, c.ValN >= 0, "must be at least 1"},
		{"val-every", c.ValEvery, c.ValEvery >= 0, "must be at least 1"},
		{"val-temperature", c.ValTemperature, c.ValTemperature >= 0, "must be >= 0 (0: greedy)"},
		{"val-limit", c.ValLimit, c.ValLimit >= 0, "must be >= 0 (0: all)"},
	}); err != nil {
		return err
	}
	if c.ValK != "" {
		if _, err := parseKs(c.ValK); err != nil {
			return fmt.Errorf("--val-k: %w", err)
		}
	}
	if c.Seeds != "" {
		if _, err := parseSeeds(c.Seeds); err != nil {
			return err
		}
	}
	if c.Resume && c.Compare != "" {
		return fmt.Errorf("--resume with --compare: resume each algorithm's run on its own, with --out %s/ALGO", c.Out)
	}
	// The whole training configuration of every algorithm, with the model's defaults in
	// place of flags left out (both presets' values are valid).
	probe := *c
	setIfZero(&probe.Steps, checkpointPreset.steps)
	setIfZero(&probe.MaxTokens, checkpointPreset.maxTokens)
	setIfZero(&probe.LR, checkpointPreset.lr)
	for _, algo := range c.algos() {
		if err := probe.config(algo).Validate(); err != nil {
			if algo != c.Algo {
				return fmt.Errorf("--compare %s: %w", algo, err)
			}
			return err
		}
	}
	return nil
}

// algos lists the algorithms a run trains: --algo, then those of --compare.
func (c *RunCmd) algos() []string {
	algos := []string{c.Algo}
	for _, a := range strings.Split(c.Compare, ",") {
		if a = strings.TrimSpace(a); a != "" && a != c.Algo {
			algos = append(algos, a)
		}
	}
	return algos
}

// Validate checks the sampling flags of `ltecli eval`.
func (c *EvalCmd) Validate(*kong.Context) error {
	rules := []rule{
		{"n", c.N, c.N >= 1, "must be at least 1"},
		{"temperature", c.Temperature, c.Temperature >= 0, "must be >= 0 (0: greedy)"},
		{"top-p", c.TopP, c.TopP > 0 && c.TopP <= 1, "must be in (0, 1]"},
		{"max-tokens", c.MaxTokens, c.MaxTokens >= 1, "must be at least 1"},
		{"limit", c.Limit, c.Limit >= 0, "must be >= 0 (0: all)"},
		{"batch", c.Batch, c.Batch >= 1, "must be at least 1"},
	}
	for _, k := range c.K {
		rules = append(rules, rule{"k", k, k >= 1, "every k must be at least 1"})
	}
	return firstFailed(rules)
}

// Validate checks the sampling flags of `ltecli generate`.
func (c *GenerateCmd) Validate(*kong.Context) error {
	return firstFailed([]rule{
		{"n", c.N, c.N >= 1, "must be at least 1"},
		{"max-tokens", c.MaxTokens, c.MaxTokens >= 1, "must be at least 1"},
		{"temperature", c.Temperature, c.Temperature >= 0, "must be >= 0 (0: greedy)"},
		{"top-p", c.TopP, c.TopP > 0 && c.TopP <= 1, "must be in (0, 1]"},
		{"top-k", c.TopK, c.TopK >= 0, "must be >= 0 (0: all)"},
	})
}

// Validate checks the optimisation flags of `ltecli sft`.
func (c *SFTCmd) Validate(*kong.Context) error {
	return firstFailed([]rule{
		{"epochs", c.Epochs, c.Epochs >= 1, "must be at least 1"},
		{"batch-size", c.BatchSize, c.BatchSize >= 1, "must be at least 1"},
		{"lr", c.LR, c.LR > 0, "must be positive"},
		{"warmup", c.Warmup, c.Warmup >= 0, "must be >= 0"},
		{"min-lr-ratio", c.MinLRRatio, c.MinLRRatio >= 0 && c.MinLRRatio <= 1, "must be in [0, 1]"},
		{"weight-decay", c.WeightDecay, c.WeightDecay >= 0, "must be >= 0"},
		{"max-grad-norm", c.MaxGradNorm, c.MaxGradNorm >= 0, "must be >= 0 (0: no clipping)"},
		{"micro-tokens", c.MicroTokens, c.MicroTokens >= 0, "must be >= 0 (0: one batch)"},
		{"checkpoint-every", c.Every, c.Every >= 0, "must be >= 0 (0: only at the end)"},
	})
}

// Validate runs first, before the command's own: it checks the thread count every command
// takes and refuses non-finite values of any float flag.
func (g *Globals) Validate(kctx *kong.Context) error {
	if err := checkFiniteFlags(kctx); err != nil {
		return err
	}
	return firstFailed([]rule{{"threads", g.Threads, g.Threads >= 0, "must be >= 0 (0: all cores)"}})
}
