package cli

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
)

// runPresets are named settings of `ltecli run --preset`, as flag name and value. A preset
// fills the flags that neither the command line nor a --config file sets.
var runPresets = map[string]map[string]string{
	// The LTE paper's training setting as LTE.md lists it (some items read from LUFFY, which
	// the paper builds on): G = 8 at temperature 1.0, 8192 response tokens, lr 1e-6 constant,
	// 128 problems per step, no KL, clip 0.2, validation at temperature 0.6, 500 steps.
	"paper": {
		"group-size": "8", "temperature": "1", "max-tokens": "8192", "lr": "1e-6", "schedule": "constant", "warmup": "0",
		"batch-problems": "128", "kl-coef": "0", "clip-low": "0.2", "clip-high": "0.2", "val-temperature": "0.6", "steps": "500",
	},
	// The paper's setting with the loss of LUFFY's training script: the off-policy ratio
	// without the denominator (r = pi_theta) through f(r) = r/(r+0.1), one normaliser for all
	// tokens with the summed token losses divided by the maximum response length
	// (loss_remove_token_mean, here seq-mean-token-sum-norm), advantages not divided by the
	// standard deviation.
	"luffy": {
		"group-size": "8", "temperature": "1", "max-tokens": "8192", "lr": "1e-6", "schedule": "constant", "warmup": "0",
		"batch-problems": "128", "kl-coef": "0", "clip-low": "0.2", "clip-high": "0.2", "val-temperature": "0.6", "steps": "500",
		"gamma": "0.1", "no-off-policy-denominator": "true", "off-policy-norm": "joint", "loss-agg": "seq-mean-token-sum-norm", "no-std": "true",
	},
}

// presetNames lists the presets for help and errors.
func presetNames() string {
	names := make([]string, 0, len(runPresets))
	for name := range runPresets {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// presetResolver gives the preset's value to a flag of the run command that the command line
// did not set. It runs before the --config file's resolver, which therefore wins over it.
var presetResolver = kong.ResolverFunc(func(ctx *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	if parent.Command == nil || parent.Command.Name != "run" || flag.Name == "preset" {
		return nil, nil
	}
	var name string
	for _, f := range parent.Command.Flags {
		if f.Name == "preset" {
			name, _ = ctx.FlagValue(f).(string)
		}
	}
	if name == "" {
		return nil, nil
	}
	preset, ok := runPresets[name]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q (want one of %s)", name, presetNames())
	}
	if v, ok := preset[flag.Name]; ok {
		return v, nil
	}
	return nil, nil
})

// checkPresetFlags reports a preset entry that names no flag of the run command.
func checkPresetFlags(app *kong.Application) error {
	for _, node := range app.Children {
		if node.Name != "run" {
			continue
		}
		var names []string
		for _, f := range node.Flags {
			names = append(names, f.Name)
		}
		for p, preset := range runPresets {
			for flag := range preset {
				if !slices.Contains(names, flag) {
					return fmt.Errorf("preset %s sets unknown flag --%s", p, flag)
				}
			}
		}
	}
	return nil
}
