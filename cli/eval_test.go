package cli

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"ltecli/lte"
	"ltecli/lte/eval"
	"ltecli/weights"
)

// rescoreLines: aime24 has 4 samples per problem, 3, 1 and 0 verified correct; math500 has
// problems of 2 and 3 samples, 2 and 1 correct. Stored verdicts are wrong on purpose.
var rescoreLines = []string{
	`{"benchmark":"aime24","id":60,"gold":"204","response":"So the answer is \\boxed{204}.","correct":false}`,
	`{"benchmark":"aime24","id":60,"gold":"204","response":"\\boxed{204}"}`,
	`{"benchmark":"aime24","id":60,"gold":"204","response":"Thus $\\boxed{204}$"}`,
	`{"benchmark":"aime24","id":60,"gold":"204","response":"\\boxed{240}","correct":true}`,
	`{"benchmark":"math500","id":"a","gold":"\\frac{1}{2}","response":"\\boxed{\\frac12}"}`,
	`{"benchmark":"aime24","id":61,"gold":"25","response":"\\boxed{25}"}`,
	`{"benchmark":"aime24","id":61,"gold":"25","response":"\\boxed{24}"}`,
	`{"benchmark":"aime24","id":61,"gold":"25","response":"I could not finish"}`,
	`{"benchmark":"aime24","id":61,"gold":"25","response":"\\boxed{26}"}`,
	`{"benchmark":"math500","id":"a","gold":"\\frac{1}{2}","response":"\\boxed{\\dfrac{1}{2}}"}`,
	`{"benchmark":"aime24","id":62,"gold":"7","response":"\\boxed{8}"}`,
	`{"benchmark":"aime24","id":62,"gold":"7","response":"\\boxed{9}"}`,
	`{"benchmark":"aime24","id":62,"gold":"7","response":""}`,
	`{"benchmark":"aime24","id":62,"gold":"7","response":"\\boxed{}"}`,
	`{"benchmark":"math500","id":"b","gold":"3","response":"\\boxed{3}"}`,
	`{"benchmark":"math500","id":"b","gold":"3","response":"\\boxed{4}"}`,
	`{"benchmark":"math500","id":"b","gold":"3","response":"\\boxed{5}"}`,
}

func TestEvalRescore(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "samples.jsonl")
	text := strings.Join(rescoreLines, "\n") + "\n"
	os.WriteFile(plain, []byte(text), 0o644)
	enc, _ := zstd.NewWriter(nil)
	compressed := filepath.Join(dir, "samples.jsonl.zst")
	os.WriteFile(compressed, enc.EncodeAll([]byte(text), nil), 0o644)

	// By hand. aime24 (n = 4, c = 3, 1, 0): pass@1 (3/4 + 1/4 + 0)/3 = 1/3;
	// pass@2 (1 + (1 - C(3,2)/C(4,2)) + 0)/3 = (1 + 1/2)/3 = 1/2; pass@4 (1 + 1 + 0)/3 = 2/3.
	// math500 (n = 2: problems of 2 and 3 samples, c = 2, 1): pass@1 (1 + 1/3)/2 = 2/3;
	// pass@2 (1 + (1 - C(2,2)/C(3,2)))/2 = (1 + 2/3)/2 = 5/6; no pass@4.
	want := map[string]map[string]float64{
		"aime24":  {"problems": 3, "n": 4, "pass@1": 1.0 / 3, "pass@2": 0.5, "pass@4": 2.0 / 3},
		"math500": {"problems": 2, "n": 2, "pass@1": 2.0 / 3, "pass@2": 5.0 / 6},
	}
	wantAverage := map[string]float64{"pass@1": 0.5, "pass@2": (0.5 + 5.0/6) / 2}
	for _, path := range []string{plain, compressed} {
		code, out, errOut := capture(t, "", "eval", "--rescore", path, "--k", "1,2,4", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", path, code, errOut)
		}
		var got struct {
			Benchmarks map[string]map[string]float64 `json:"benchmarks"`
			Average    map[string]float64            `json:"average"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", path, err, out)
		}
		for name, fields := range want {
			if len(got.Benchmarks[name]) != len(fields) {
				t.Errorf("%s: %s has %v, want %v", path, name, got.Benchmarks[name], fields)
			}
			for key, v := range fields {
				if g, ok := got.Benchmarks[name][key]; !ok || math.Abs(g-v) > 1e-12 {
					t.Errorf("%s: %s %s = %v, want %v", path, name, key, g, v)
				}
			}
		}
		if len(got.Average) != len(wantAverage) {
			t.Errorf("%s: average %v, want %v", path, got.Average, wantAverage)
		}
		for key, v := range wantAverage {
			if g := got.Average[key]; math.Abs(g-v) > 1e-12 {
				t.Errorf("%s: average %s = %v, want %v", path, key, g, v)
			}
		}
		if !strings.Contains(errOut, "math500: pass@4 left out") {
			t.Errorf("%s: stderr lacks the note on pass@4: %q", path, errOut)
		}
	}

	code, out, _ := capture(t, "", "eval", "--rescore", plain, "--k", "1,2")
	if code != 0 || !strings.Contains(out, "aime24     3         4  33.33   50.00") {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}
}

func TestEvalNeedsASource(t *testing.T) {
	code, _, errOut := capture(t, "", "eval")
	if code != 1 || !strings.Contains(errOut, "--model DIR") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = capture(t, "", "eval", "--model", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "--out DIR is required") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestEvalGenerates runs the whole generation path on the tiny model and a three-problem
// benchmark, then again on the same folder, which must resume with nothing left to do.
func TestEvalGenerates(t *testing.T) {
	model := tinyModelDir(t, true, weights.BF16)
	dir := t.TempDir()
	bench := filepath.Join(dir, "tiny.jsonl")
	os.WriteFile(bench, []byte(`{"id":1,"problem":"1+1?","answer":"2"}
{"id":2,"problem":"2+2?","answer":"4"}
{"id":3,"problem":"3+3?","answer":"6"}
`), 0o644)
	out := filepath.Join(dir, "eval")
	args := []string{"eval", "--model", model, "--bench", "tiny=" + bench, "--n", "2", "--k", "1,2",
		"--max-tokens", "4", "--temperature", "1", "--template", "plain", "--batch", "2", "--out", out, "--json"}
	code, stdout, errOut := capture(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "tiny: 3/3 problems") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	res, err := eval.ReadResults(filepath.Join(out, eval.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Benchmarks["tiny"]; b.Problems != 3 || b.N != 2 || len(b.Pass) != 2 {
		t.Errorf("results %+v", res)
	}
	samples, ignored, err := eval.ReadSamples(filepath.Join(out, eval.SamplesFile))
	if err != nil || ignored != 0 || len(samples) != 6 {
		t.Fatalf("samples: %d read, %d bytes ignored, %v", len(samples), ignored, err)
	}
	if s := samples[0]; s.Benchmark != "tiny" || s.ID != "1" || s.Gold != "2" || s.Prompt != "1+1?\nAnswer:" || s.FinishReason == "" {
		t.Errorf("first sample %+v", s)
	}

	code, again, errOut := capture(t, "", args...)
	if code != 0 || again != stdout || !strings.Contains(errOut, "3 of 3 problems were done earlier") {
		t.Errorf("second run: exit %d, stdout %q (first %q), stderr %q", code, again, stdout, errOut)
	}
}

func TestTableAndPlotCommands(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "lte")
	os.MkdirAll(run, 0o755)
	os.WriteFile(filepath.Join(run, eval.ResultsFile), []byte(`{"benchmarks": {"aime24": {"problems": 30, "n": 8, "pass@1": 0.3062, "pass@8": 0.5}},
"average": {"pass@1": 0.3062, "pass@8": 0.5}}`), 0o644)
	code, out, errOut := capture(t, "", "table", "--run", "LTE run="+run, "--csv")
	want := "Run,MATH500 Pass@1,MATH500 Pass@8,Minerva Pass@1,Minerva Pass@8,Olympiad Pass@1,Olympiad Pass@8,AMC23 Pass@1,AMC23 Pass@8,AIME24 Pass@1,AIME24 Pass@8,AIME25 Pass@1,AIME25 Pass@8,Avg Pass@1,Avg Pass@8\n" +
		"LTE run,,,,,,,,,30.62,50.00,,,30.62,50.00\n"
	if code != 0 || out != want {
		t.Errorf("table: exit %d, stderr %q\n%s\nwant\n%s", code, errOut, out, want)
	}
	code, out, _ = capture(t, "", "table", "--run", "x="+filepath.Join(run, eval.ResultsFile), "--paper")
	if code != 0 || !strings.Contains(out, "| x |") || !strings.Contains(out, "| LTE (paper) | 78.85 |") {
		t.Errorf("table --paper: exit %d\n%s", code, out)
	}

	os.WriteFile(filepath.Join(run, "metrics.jsonl"), []byte(`{"step":1,"none_pass":5,"some_pass":2,"all_pass":1,"reward_mean":0.2,"response_len_mean":20}
{"step":2,"none_pass":4,"some_pass":3,"all_pass":1,"reward_mean":0.3,"response_len_mean":18,"val_pass@4":0.5}
`), 0o644)
	plots := filepath.Join(dir, "plots")
	code, out, errOut = capture(t, "", "plot", run, "--out", plots)
	if code != 0 {
		t.Fatalf("plot: exit %d: %s", code, errOut)
	}
	files := strings.Fields(out)
	if len(files) != 6 || filepath.Base(files[5]) != "val_pass_at_4.png" {
		t.Fatalf("plot wrote %q", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width != 768 || cfg.Height != 480 {
		t.Errorf("%s: %dx%d, %v", files[0], cfg.Width, cfg.Height, err)
	}
	if code, _, errOut := capture(t, "", "plot", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errOut, "metrics.jsonl") {
		t.Errorf("plot of a folder without metrics: exit %d, %q", code, errOut)
	}
}

// TestValidationMatchesEval: in-run validation and `ltecli eval` are one path from prompts to
// Pass@k, so the run's last checkpoint, evaluated on the validation file with the run's seed
// and validation settings, gives the Pass@1 and Pass@8 the run recorded after its last step.
func TestValidationMatchesEval(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	if code, _, errOut := capture(t, "", "run", "--out", runDir, "--steps", "1", "--batch-problems", "2", "--group-size", "2",
		"--val-limit", "16", "--seed", "3"); code != 0 {
		t.Fatalf("run: %s", errOut)
	}
	raw, err := os.ReadFile(filepath.Join(runDir, lte.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var setup struct {
		Val string `json:"val"`
	}
	if err := json.Unmarshal(raw, &setup); err != nil || setup.Val == "" {
		t.Fatalf("run_config.json: %v, val %q", err, setup.Val)
	}
	ms, err := readMetrics(runDir)
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1]
	ckpt, err := lte.LatestCheckpoint(runDir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "eval")
	code, _, errOut := capture(t, "", "eval", "--model", ckpt, "--bench", "val="+setup.Val, "--limit", "16", "--n", "8", "--k", "1,8",
		"--temperature", "0.6", "--top-p", "1", "--max-tokens", "24", "--batch", "8", "--seed", "3", "--template", "qwen-boxed",
		"--truncated", "wrong", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("eval: %s", errOut)
	}
	res, err := eval.ReadResults(filepath.Join(out, eval.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Benchmarks["val"].Pass
	if got[1] == 0 || got[1] == 1 {
		t.Fatalf("pass@1 %g says nothing: pick problems the model sometimes solves", got[1])
	}
	t.Logf("pass@1 %g, pass@8 %g from both", got[1], got[8])
	for _, k := range []int{1, 8} {
		if v := last.Validation[k]; v != got[k] {
			t.Errorf("pass@%d: run's validation %g, eval %g", k, v, got[k])
		}
	}
}
