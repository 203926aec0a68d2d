package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/lte"
	"ltecli/weights"
)

func parseRun(t *testing.T, args ...string) *RunCmd {
	t.Helper()
	var root CLI
	parser, err := newParser(&root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(append([]string{"run"}, args...)); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &root.Run
}

// TestPresets: a preset fills the flags the command line and the config file leave alone, and
// each setting it names reaches the run's configuration.
func TestPresets(t *testing.T) {
	c := parseRun(t, "--preset", "paper", "--model", "m", "--train", "t")
	cfg := c.config(lte.AlgoLTE)
	if cfg.GroupSize != 8 || cfg.Temperature != 1 || cfg.MaxTokens != 8192 || cfg.LR != 1e-6 || cfg.Schedule != "constant" ||
		cfg.BatchProblems != 128 || cfg.Loss.KLCoef != 0 || cfg.Loss.ClipLow != 0.2 || cfg.Loss.ClipHigh != 0.2 || cfg.Steps != 500 || c.ValTemperature != 0.6 {
		t.Errorf("paper preset resolved to %+v, val temperature %g", cfg, c.ValTemperature)
	}
	if !cfg.Loss.OffPolicyDenominator || cfg.Loss.OffPolicyNorm != lte.NormSeparate || !cfg.ScaleByStd {
		t.Errorf("paper preset changed the LTE loss: %+v", cfg.Loss)
	}
	// Defaults differ from the preset where it matters: no preset keeps them.
	if d := parseRun(t, "--model", "m", "--train", "t").config(lte.AlgoLTE); d.BatchProblems == 128 || d.Steps == 500 {
		t.Errorf("without a preset: %+v", d)
	}

	c = parseRun(t, "--preset", "luffy", "--model", "m", "--train", "t", "--group-size", "4")
	cfg = c.config(lte.AlgoLTE)
	if cfg.GroupSize != 4 {
		t.Errorf("command line --group-size 4 lost to the preset: %d", cfg.GroupSize)
	}
	if cfg.Loss.OffPolicyDenominator || cfg.Loss.OffPolicyNorm != lte.NormJoint || cfg.Loss.Agg != lte.AggSeqMeanTokenSumNrm ||
		cfg.ScaleByStd || cfg.Loss.Gamma != 0.1 || cfg.BatchProblems != 128 || cfg.MaxTokens != 8192 || cfg.Loss.MaxResponseLen != 8192 {
		t.Errorf("luffy preset resolved to %+v", cfg)
	}

	conf := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(conf, []byte(`{"batch_problems": 16}`), 0o644)
	if cfg := parseRun(t, "--config", conf, "--preset", "paper", "--model", "m", "--train", "t").config(lte.AlgoLTE); cfg.BatchProblems != 16 || cfg.GroupSize != 8 {
		t.Errorf("config file under a preset: batch problems %d, group size %d", cfg.BatchProblems, cfg.GroupSize)
	}
	if code, _, errOut := capture(t, "", "run", "--preset", "nope"); code == 0 || !strings.Contains(errOut, "preset") {
		t.Errorf("unknown preset: exit %d, %q", code, errOut)
	}
}

// TestPresetRecorded: run_config.json names the preset and holds the values it set.
func TestPresetRecorded(t *testing.T) {
	model := tinyModelDir(t, true, weights.F32)
	work := t.TempDir()
	data := filepath.Join(work, "p.jsonl")
	var sb strings.Builder
	for i := 0; i < 2; i++ {
		fmt.Fprintf(&sb, `{"id": "q%d", "question": "What is %d+1?", "answer": "%d"}`+"\n", i, i, i+1)
	}
	os.WriteFile(data, []byte(sb.String()), 0o644)
	out := filepath.Join(work, "run")
	if code, _, errOut := capture(t, "", "run", "--preset", "paper", "--model", model, "--train", data, "--out", out, "--steps", "1",
		"--batch-problems", "2", "--max-tokens", "4"); code != 0 {
		t.Fatalf("run: %s", errOut)
	}
	raw, err := os.ReadFile(filepath.Join(out, lte.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(raw, &got)
	for key, want := range map[string]any{"preset": "paper", "group_size": 8.0, "lr": 1e-6, "val_temperature": 0.6, "batch_problems": 2.0, "steps": 1.0} {
		if got[key] != want {
			t.Errorf("run_config.json %s = %v, want %v", key, got[key], want)
		}
	}
}
