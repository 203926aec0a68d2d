package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/lte"
	"ltecli/lte/eval"
	"ltecli/weights"
)

// The tests of this file play what a careless or hostile user does to each command and
// assert the exact outcome: the exit status, the key words of the one-line message, and
// that the run directory still reads back (metrics, samples, latest checkpoint).

// hostileCase is one invocation: setup prepares files (it may return extra arguments),
// then the command runs with args; code and the words of want are expected on stderr.
type hostileCase struct {
	name  string
	setup func(t *testing.T, dir string) []string
	args  []string
	stdin string
	code  int
	want  []string
	check func(t *testing.T, dir string, stdout string)
}

// playCases runs each case in a fresh folder, with "DIR" in args replaced by it.
func playCases(t *testing.T, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var extra []string
			if c.setup != nil {
				extra = c.setup(t, dir)
			}
			args := make([]string, 0, len(c.args)+len(extra))
			for _, a := range append(append([]string(nil), c.args...), extra...) {
				args = append(args, strings.ReplaceAll(a, "DIR", dir))
			}
			code, stdout, stderr := capture(t, c.stdin, args...)
			if os.Getenv("LTECLI_TEST_SHOW") != "" {
				t.Logf("stderr tail: %s", lastLine(stderr))
			}
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			// A failure's message is the last line; a success's notes may be anywhere.
			msg := stderr
			if c.code != 0 {
				msg = lastLine(stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
				t.Errorf("stack trace on stderr:\n%s", stderr)
			}
			if c.check != nil {
				c.check(t, dir, stdout)
			}
		})
	}
}

// lastLine is the last non-empty line of s: the error message of a failed command.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGuardTurnsPanicsIntoErrors(t *testing.T) {
	err := guard(func() error {
		var s []int
		_ = s[len(os.Args)+5]
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "internal error in ltecli/cli.TestGuardTurnsPanicsIntoErrors") || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("error %v", err)
	}
	want := errors.New("plain")
	if err := guard(func() error { return want }); err != want {
		t.Fatalf("error %v, want the function's own", err)
	}
}

// TestConfigFileHostile plays --config files: misspelt keys, keys of another command, empty
// and malformed files, and a good one.
func TestConfigFileHostile(t *testing.T) {
	cfg := func(content string) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			return []string{"--config", writeFile(t, filepath.Join(dir, "c.json"), content)}
		}
	}
	playCases(t, []hostileCase{
		{name: "misspelt key", setup: cfg(`{"group_szie": 4}`), args: []string{"run", "--out", "DIR/run"}, code: 2,
			want: []string{"c.json", `unknown key "group_szie"`, `did you mean "group_size"`}, check: noRunDir},
		{name: "key of another command", setup: cfg(`{"n": 4, "steps": 2}`), args: []string{"run", "--out", "DIR/run"}, code: 2,
			want: []string{`unknown key "n"`, "ltecli run"}, check: noRunDir},
		{name: "empty file", setup: cfg(""), args: []string{"run", "--out", "DIR/run"}, code: 2,
			want: []string{"c.json is empty", "JSON object"}, check: noRunDir},
		{name: "malformed", setup: cfg(`{"steps": 2`), args: []string{"run", "--out", "DIR/run"}, code: 2,
			want: []string{"c.json is not a JSON object"}, check: noRunDir},
		{name: "two objects", setup: cfg(`{"steps": 2} {"steps": 3}`), args: []string{"run", "--out", "DIR/run"}, code: 2,
			want: []string{"more than one JSON value"}, check: noRunDir},
		{name: "eval keys with a list", setup: cfg(`{"k": [1, 2], "json": true}`), args: []string{"eval"}, code: 1,
			want: []string{"give --model DIR"}},
		{name: "verify with a good file", setup: cfg(`{"threads": 1}`), args: []string{"verify"}, stdin: `{"response": "\\boxed{2}", "gold": "2"}` + "\n", code: 0,
			check: func(t *testing.T, _ string, out string) {
				if !strings.Contains(out, `"correct":true`) {
					t.Errorf("stdout %q", out)
				}
			}},
	})
}

// noRunDir checks that a refused command left no run directory behind.
func noRunDir(t *testing.T, dir string, _ string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("a refused command created %s", filepath.Join(dir, "run"))
	}
}

// TestEvalHostile plays eval: repeated samples in a rescored file, a locked output folder,
// a problem longer than the model's context, empty input.
func TestEvalHostile(t *testing.T) {
	f := newRunFixture(t)
	var indexed []string
	for i, line := range rescoreLines[:4] {
		indexed = append(indexed, strings.Replace(line, `{`, fmt.Sprintf(`{"index":%d,`, i), 1))
	}
	samples := func(lines []string, times int) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			text := strings.Repeat(strings.Join(lines, "\n")+"\n", times)
			return []string{"--rescore", writeFile(t, filepath.Join(dir, "s.jsonl"), text)}
		}
	}
	bench := func(question string) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			p := writeFile(t, filepath.Join(dir, "b.jsonl"), fmt.Sprintf(`{"id": "b1", "problem": "1+1?", "answer": "2"}`+"\n"+`{"id": "b2", "problem": %q, "answer": "2"}`+"\n", question))
			return []string{"--model", f.model, "--bench", "mini=" + p, "--out", filepath.Join(dir, "out"), "--n", "2", "--k", "1,2", "--max-tokens", "4", "--threads", "1"}
		}
	}
	evalDone := func(t *testing.T, dir, out string) {
		raw, err := os.ReadFile(filepath.Join(dir, "out", eval.ResultsFile))
		if err != nil || !strings.Contains(string(raw), `"mini"`) {
			t.Errorf("results.json: %v %s", err, raw)
		}
		if s, _, err := eval.ReadSamples(filepath.Join(dir, "out", eval.SamplesFile)); err != nil || len(s) != 4 {
			t.Errorf("samples: %d, %v", len(s), err)
		}
	}
	playCases(t, []hostileCase{
		{name: "rescore", setup: samples(indexed, 1), args: []string{"eval", "--k", "1"}, code: 0},
		{name: "rescore a file concatenated with itself", setup: samples(indexed, 2), args: []string{"eval", "--k", "1"}, code: 1,
			want: []string{"s.jsonl", "sample 0 of problem aime24/60 appears twice (records 1 and 5)", "concatenated"}},
		{name: "rescore an unindexed file concatenated with itself", setup: samples(rescoreLines, 2), args: []string{"eval", "--k", "1"}, code: 0,
			want: []string{"warning", "holds 17 records identical to earlier ones"}},
		{name: "rescore an empty file", setup: samples(nil, 0), args: []string{"eval"}, code: 1, want: []string{"holds no samples"}},
		{name: "evaluate", setup: bench("2+2?"), args: []string{"eval"}, code: 0, check: evalDone},
		{name: "another process holds the output folder", setup: func(t *testing.T, dir string) []string {
			l, err := weights.LockDir(filepath.Join(dir, "out"), "evaluation folder")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Unlock() })
			return bench("2+2?")(t, dir)
		}, args: []string{"eval"}, code: 1, want: []string{"evaluation folder", "in use by another ltecli", fmt.Sprintf("pid %d", os.Getpid())}},
		{name: "a problem longer than the context", setup: bench(strings.Repeat("apples and pears ", 20000)), args: []string{"eval"}, code: 1,
			want: []string{"benchmark mini", `problem "b2"`, "context of 512 tokens"}},
	})
}

var _ = lte.MetricsFile

// TestFlagsCheckedBeforeWork plays flag values that cannot work: each is refused with exit
// status 2, naming the flag, before any file is written.
func TestFlagsCheckedBeforeWork(t *testing.T) {
	run := func(flags ...string) []string { return append([]string{"run", "--out", "DIR/run"}, flags...) }
	var cases []hostileCase
	for _, c := range []struct {
		args []string
		want []string
	}{
		{run("--top-p", "2"), []string{"top-p", "(0, 1]", "got 2"}},
		{run("--top-p", "0"), []string{"top-p", "(0, 1]"}},
		{run("--weight-decay=-1"), []string{"weight decay", "-1"}},
		{run("--val-n=-1"), []string{"--val-n -1"}},
		{run("--val-n", "0"), []string{"--val-n 0", "leave the flag out"}},
		{run("--temperature", "NaN"), []string{"temperature", "NaN"}},
		{run("--temperature", "0"), []string{"temperature", "positive"}},
		{run("--lr", "NaN"), []string{"--lr NaN", "finite"}},
		{run("--lr", "+Inf"), []string{"--lr +Inf", "finite"}},
		{run("--lr", "0"), []string{"--lr 0", "positive", "leave the flag out"}},
		{run("--kl-coef", "NaN"), []string{"--kl-coef NaN"}},
		{run("--steps", "0"), []string{"--steps 0", "leave the flag out", "100"}},
		{run("--steps=-3"), []string{"steps", "-3"}},
		{run("--max-tokens", "0"), []string{"--max-tokens 0", "leave the flag out"}},
		{run("--val-every", "0"), []string{"--val-every 0"}},
		{run("--val-k", "1,0"), []string{"--val-k", `"0" is not a positive integer`}},
		{run("--val-temperature=-1"), []string{"--val-temperature -1"}},
		{run("--group-size", "1"), []string{"group size must be at least 2"}},
		{run("--buffer-mode", "window=0"), []string{"window=N needs N >= 1"}},
		{run("--buffer-max", "0"), []string{"buffer max"}},
		{run("--dual-clip", "0.5"), []string{"dual_clip must exceed 1"}},
		{run("--compare", "grpo,gpro"), []string{"--compare gpro", "unknown algorithm"}},
		{run("--resume", "--compare", "grpo"), []string{"--resume with --compare"}},
		{run("--schedule", "cosine", "--warmup", "200"), []string{"total steps 100 must exceed warm-up steps 200"}},
		{run("--threads=-2"), []string{"--threads -2"}},
		{[]string{"eval", "--rescore", "DIR/none.jsonl"}, []string{"none.jsonl"}},
		{[]string{"eval", "--n", "0"}, []string{"--n 0"}},
		{[]string{"eval", "--top-p", "1.5"}, []string{"--top-p 1.5"}},
		{[]string{"eval", "--k", "1,0"}, []string{"--k 0"}},
		{[]string{"eval", "--temperature", "NaN"}, []string{"--temperature NaN"}},
		{[]string{"generate", "--model", "DIR", "--prompt", "x", "--top-p", "2"}, []string{"--top-p 2"}},
		{[]string{"generate", "--model", "DIR", "--prompt", "x", "--max-tokens", "0"}, []string{"--max-tokens 0"}},
		{[]string{"sft", "--model", "DIR", "--data", "DIR/d.jsonl", "--out", "DIR/run", "--lr=-1"}, []string{"--lr -1"}},
		{[]string{"sft", "--model", "DIR", "--data", "DIR/d.jsonl", "--out", "DIR/run", "--batch-size", "0"}, []string{"--batch-size 0"}},
	} {
		cases = append(cases, hostileCase{name: strings.Join(c.args, " "), args: c.args, code: 2, want: c.want, check: noRunDir,
			setup: func(t *testing.T, dir string) []string {
				writeFile(t, filepath.Join(dir, "d.jsonl"), `{"prompt": "a", "response": "b"}`+"\n")
				return nil
			}})
	}
	playCases(t, cases)
}

// TestOtherCommandsHostile plays the other commands with missing, malformed and oversized
// input: each fails with one line naming the problem, or, for input that is only large,
// answers correctly.
func TestOtherCommandsHostile(t *testing.T) {
	f := newRunFixture(t)
	boxes := strings.Repeat(`\\boxed{}`, 22000) + `\\boxed{7}`
	fragment := func(t *testing.T, dir string) []string {
		writeFile(t, filepath.Join(dir, "run", lte.MetricsFile), `{"step":1,"reward_mean":0.5}`+"\n"+`{"step":2,"reward_mean":0.7}`+"\n"+`{"step":3,"rew`)
		return nil
	}
	sftData := func(content string) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			return []string{"--data", writeFile(t, filepath.Join(dir, "d.jsonl"), content)}
		}
	}
	playCases(t, []hostileCase{
		{name: "verify 22,000 empty boxes", args: []string{"verify"}, stdin: fmt.Sprintf(`{"response": %q, "gold": "7"}`+"\n", boxes), code: 0,
			check: func(t *testing.T, _ string, out string) {
				if !strings.Contains(out, `"correct":true`) {
					t.Errorf("stdout %q", out)
				}
			}},
		{name: "verify garbage", args: []string{"verify"}, stdin: "garbage\n", code: 1, want: []string{"line 1", "JSON object"}},
		{name: "tokenize a number", args: []string{"tokenize", "--model", f.model}, stdin: `{"text": 5}` + "\n", code: 1, want: []string{"stdin line 1", `want {"text": "..."}`}},
		{name: "inspect a missing folder", args: []string{"inspect", "--model", "DIR/none"}, code: 1, want: []string{"config.json", "no such file"}},
		{name: "generate beyond the context", args: []string{"generate", "--model", f.model, "--prompt", strings.Repeat("word ", 200), "--max-tokens", "100"}, code: 1,
			want: []string{"the prompt is 1000 tokens", "context of 512 tokens"}},
		{name: "plot a missing run", args: []string{"plot", "DIR/none", "--out", "DIR/plots"}, code: 1, want: []string{"none", "metrics.jsonl"}},
		{name: "plot a run with a cut metrics line", setup: fragment, args: []string{"plot", "DIR/run", "--out", "DIR/plots"}, code: 0,
			check: func(t *testing.T, dir, _ string) {
				if pngs, _ := filepath.Glob(filepath.Join(dir, "plots", "*.png")); len(pngs) == 0 {
					t.Error("no plot written")
				}
			}},
		{name: "table of a missing run", args: []string{"table", "--run", "A=DIR/none"}, code: 1, want: []string{"run A", "no such file"}},
		{name: "sft while another process holds the folder", setup: func(t *testing.T, dir string) []string {
			holdLock(t, dir)
			return sftData(`{"prompt": "a", "response": "b"}`+"\n")(t, dir)
		}, args: []string{"sft", "--model", f.model, "--out", "DIR/run"}, code: 1, want: []string{"sft folder", "in use by another ltecli"}},
		{name: "sft with an empty data file", setup: sftData(""), args: []string{"sft", "--model", f.model, "--out", "DIR/run"}, code: 1, want: []string{"d.jsonl"}, check: noRunDir},
	})
}
