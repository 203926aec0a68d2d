package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ltecli/lte"
	"ltecli/weights"
)

// TestSeedComparisonMeanAndSD checks the table over seeds against closed forms: three runs
// whose none-pass share ends at 0.3, 0.4 and 0.8 have mean 0.5 and sample standard deviation
// sqrt(((-0.2)^2 + (-0.1)^2 + 0.3^2) / 2) = sqrt(0.07).
func TestSeedComparisonMeanAndSD(t *testing.T) {
	ends := []float64{0.3, 0.4, 0.8}
	var runs []runSummary
	for i, end := range ends {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		os.MkdirAll(dir, 0o755)
		lines := fmt.Sprintf(`{"step":0,"train_none_pass":0.6,"val_pass@1":0.1,"val_pass@8":0.2}
{"step":1,"loss":0.5}
{"step":2,"train_none_pass":%g,"val_pass@1":%g,"val_pass@8":0.25}
`, end, 0.1*float64(i+1))
		os.WriteFile(filepath.Join(dir, lte.MetricsFile), []byte(lines), 0o644)
		runs = append(runs, runSummary{Name: "lte", Dir: dir, Wall: time.Duration(10*(i+1)) * time.Second})
	}
	var sb strings.Builder
	printSeedComparison(&sb, []string{"lte"}, []uint64{1, 2, 3}, [][]runSummary{runs})
	out := sb.String()
	want := fmt.Sprintf("| lte | 0.600 ± 0.000 | 0.500 ± %.3f | 0.100 ± 0.000 | 0.200 ± %.3f | 0.200 ± 0.000 (pass@8) | 0.250 ± 0.000 | 20s ± 10s |",
		math.Sqrt(0.07), 0.1)
	if !strings.Contains(out, want) || !strings.Contains(out, "over 3 seeds (1, 2, 3)") {
		t.Errorf("table\n%s\nlacks the row\n%s", out, want)
	}
}

// TestRunSeeds runs two algorithms over two seeds on a tiny model: one directory per seed and
// algorithm, and the table over seeds.
func TestRunSeeds(t *testing.T) {
	model := tinyModelDir(t, true, weights.F32)
	work := t.TempDir()
	var problems strings.Builder
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&problems, `{"id": "q%d", "question": "What is %d+1?", "answer": "%d"}`+"\n", i, i, i+1)
	}
	data := filepath.Join(work, "p.jsonl")
	os.WriteFile(data, []byte(problems.String()), 0o644)
	out := filepath.Join(work, "runs")
	code, stdout, errOut := capture(t, "", "run", "--model", model, "--train", data, "--out", out, "--steps", "1",
		"--batch-problems", "2", "--group-size", "2", "--max-tokens", "4", "--compare", "grpo", "--seeds", "4,7")
	if code != 0 {
		t.Fatalf("run: %s", errOut)
	}
	for _, seed := range []string{"seed-4", "seed-7"} {
		for _, algo := range []string{"lte", "grpo"} {
			if _, err := os.Stat(filepath.Join(out, seed, algo, lte.MetricsFile)); err != nil {
				t.Errorf("%s/%s: %v", seed, algo, err)
			}
		}
	}
	if !strings.Contains(stdout, "over 2 seeds (4, 7)") || !strings.Contains(stdout, "| grpo | ") {
		t.Errorf("no table over seeds in %q", stdout)
	}
	if code, _, errOut := capture(t, "", "run", "--model", model, "--train", data, "--out", filepath.Join(work, "bad"), "--seeds", "1,x"); code == 0 || !strings.Contains(errOut, "--seeds") {
		t.Errorf("bad --seeds: exit %d, %q", code, errOut)
	}
}
