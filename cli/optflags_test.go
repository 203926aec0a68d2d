package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ltecli/lte"
)

// TestSharedFlagDefaults: the optimizer and schedule flags are declared once, and each
// command still gets the defaults it had when it declared them itself.
func TestSharedFlagDefaults(t *testing.T) {
	data := filepath.Join(t.TempDir(), "sft.jsonl")
	os.WriteFile(data, []byte(`{"prompt":"a","response":"b"}`+"\n"), 0o644)
	sft, err := parseSFT("--model", "m", "--data", data, "--out", "o")
	if err != nil {
		t.Fatal(err)
	}
	if sft.LR != 1e-3 || sft.Schedule != "cosine" || sft.Warmup != 10 || sft.MinLRRatio != 0.1 || sft.WeightDecay != 0.01 ||
		sft.MaxGradNorm != 1 || sft.MicroTokens != 8192 || sft.Epochs != 3 || sft.BatchSize != 32 {
		t.Errorf("sft defaults %+v", *sft)
	}
	run := parseRun(t, "--model", "m", "--train", "t")
	if run.LR != 0 || run.Schedule != "constant" || run.Warmup != 0 || run.MinLRRatio != 0 || run.WeightDecay != 0.01 ||
		run.MaxGradNorm != 1 || run.MicroTokens != 8192 {
		t.Errorf("run defaults %+v %+v", run.OptimizerFlags, run.ScheduleFlags)
	}
	var root CLI
	parser, err := newParser(&root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"step", "--model", "m", "--batch", data, "--out", "o", "--max-grad-norm", "0.5"}); err != nil {
		t.Fatal(err)
	}
	if s := root.Step; s.LR != 1e-6 || s.WeightDecay != 0.01 || s.MaxGradNorm != 0.5 || s.MicroTokens != 0 {
		t.Errorf("step flags %+v", s.OptimizerFlags)
	}
	if _, err := parseSFT("--model", "m", "--data", data, "--out", "o", "--lr", "0"); err == nil || !strings.Contains(err.Error(), "--lr") {
		t.Errorf("sft --lr 0: %v", err)
	}
}

// TestRunDefaultsAreDefaultConfig: with no flags, run's training configuration is
// lte.DefaultConfig, but for what depends on the model (steps, max tokens, lr: resolved
// later) and the micro-batch size, which is the command's.
func TestRunDefaultsAreDefaultConfig(t *testing.T) {
	got := parseRun(t, "--model", "m", "--train", "t").config(lte.AlgoLTE)
	want := lte.DefaultConfig()
	want.Steps, want.MaxTokens, want.LR, want.MicroTokens = 0, 0, 0, 8192
	if !reflect.DeepEqual(got, want) {
		t.Errorf("run's defaults\n%+v\nwant\n%+v", got, want)
	}
}
