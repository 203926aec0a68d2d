package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/lte"
	"ltecli/model/qwen3/qwen3test"
	"ltecli/weights"
)

// runFixture is a tiny model (context 512) and a training file shared by the run cases.
type runFixture struct {
	model, train string
}

func newRunFixture(t *testing.T) runFixture {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	cfg := qwen3test.Config(true)
	cfg.MaxPositionEmbeddings = 512
	if _, err := qwen3test.Write(model, cfg, 5, 0.3, weights.F32); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&b, `{"id": "q%d", "question": "What is %d+1?", "answer": "%d"}`+"\n", i, i, i+1)
	}
	return runFixture{model: model, train: writeFile(t, filepath.Join(dir, "train.jsonl"), b.String())}
}

// args is a 2-step run into DIR/run with a checkpoint after each step, then extra flags.
func (f runFixture) args(extra ...string) []string {
	return append([]string{"run", "--model", f.model, "--train", f.train, "--out", "DIR/run", "--steps", "2",
		"--batch-problems", "2", "--group-size", "2", "--max-tokens", "4", "--checkpoint-every", "1", "--threads", "1"}, extra...)
}

// done runs the fixture's run into dir/run first: the setup of cases on a finished run.
func (f runFixture) done(extra ...string) func(t *testing.T, dir string) []string {
	return func(t *testing.T, dir string) []string {
		t.Helper()
		args := f.args(extra...)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "DIR", dir)
		}
		if code, _, stderr := capture(t, "", args...); code != 0 {
			t.Fatalf("setup run: exit %d: %s", code, stderr)
		}
		return nil
	}
}

// readsBack checks that DIR/run reads back: metrics lines with steps 1..steps, samples
// that decode with the same steps, and a latest checkpoint at the last step that passes
// its checksums and loads.
func readsBack(steps int) func(t *testing.T, dir, _ string) {
	return func(t *testing.T, dir, _ string) {
		t.Helper()
		run := filepath.Join(dir, "run")
		ms, err := readMetrics(run)
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		if len(ms) != steps {
			t.Fatalf("%d metrics lines, want %d", len(ms), steps)
		}
		for i, m := range ms {
			if m.Step != i+1 {
				t.Fatalf("metrics line %d is step %d", i+1, m.Step)
			}
		}
		samples, err := lte.ReadSamples(filepath.Join(run, lte.SamplesFile))
		if err != nil {
			t.Fatalf("samples: %v", err)
		}
		if len(samples) == 0 || samples[len(samples)-1].Step != steps {
			t.Fatalf("%d samples, last of step %d", len(samples), samples[len(samples)-1].Step)
		}
		ckpt, err := lte.LatestCheckpoint(run)
		if err != nil {
			t.Fatal(err)
		}
		st, err := lte.VerifyCheckpoint(ckpt)
		if err != nil || st.Step != steps {
			t.Fatalf("latest checkpoint %s: step %d, %v", ckpt, st.Step, err)
		}
		if _, err := weights.OpenCheckpoint(ckpt); err != nil {
			t.Fatal(err)
		}
	}
}

// runConfig reads DIR/run/run_config.json.
func runConfig(t *testing.T, dir string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "run", lte.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func both(checks ...func(t *testing.T, dir, out string)) func(t *testing.T, dir, out string) {
	return func(t *testing.T, dir, out string) {
		for _, c := range checks {
			c(t, dir, out)
		}
	}
}

// holdLock takes DIR/run's lock as another process would, for the rest of the test.
func holdLock(t *testing.T, dir string) {
	t.Helper()
	l, err := weights.LockDir(filepath.Join(dir, "run"), "run directory")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlock() })
}

func TestRunHostile(t *testing.T) {
	f := newRunFixture(t)
	pid := fmt.Sprintf("pid %d", os.Getpid())
	then := func(setups ...func(t *testing.T, dir string) []string) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			for _, s := range setups {
				s(t, dir)
			}
			return nil
		}
	}
	lockIt := func(t *testing.T, dir string) []string { holdLock(t, dir); return nil }
	setConfig := func(key string, value any) func(t *testing.T, dir string) []string {
		return func(t *testing.T, dir string) []string {
			model := filepath.Join(dir, "model")
			os.CopyFS(model, os.DirFS(f.model))
			path := filepath.Join(model, "config.json")
			raw, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(raw, &m)
			m[key] = value
			raw, _ = json.Marshal(m)
			os.WriteFile(path, raw, 0o644)
			return []string{"--model", model}
		}
	}
	killedBeforeCheckpoint := func(t *testing.T, dir string) []string {
		// What kill -9 during step 1 leaves: the configuration, the step-0 line, part of a
		// checkpoint being written, a temporary file of an atomic write.
		run := filepath.Join(dir, "run")
		writeFile(t, filepath.Join(run, lte.ConfigFile), `{"algo": "lte", "seed": 1}`)
		writeFile(t, filepath.Join(run, lte.MetricsFile), `{"step":0,"val_pass@1":0.25}`+"\n")
		writeFile(t, filepath.Join(run, lte.SamplesFile), "")
		writeFile(t, filepath.Join(run, lte.CheckpointsDir, "step-000001.tmp", "model.safetensors"), "partial")
		writeFile(t, filepath.Join(run, ".run_config.json.tmp-99"), "partial")
		return nil
	}
	noStale := func(t *testing.T, dir, _ string) {
		for _, p := range []string{"checkpoints/step-000001.tmp", ".run_config.json.tmp-99"} {
			if _, err := os.Stat(filepath.Join(dir, "run", p)); err == nil {
				t.Errorf("stale %s survived", p)
			}
		}
	}
	flip := func(t *testing.T, dir string) []string {
		flipByte(t, filepath.Join(dir, "run", lte.CheckpointsDir, "step-000002", "model.safetensors"), 3000)
		return nil
	}
	long := strings.Repeat("How many apples? ", 20000) // 340,000 characters
	playCases(t, []hostileCase{
		{name: "a fresh run", args: f.args(), code: 0, check: readsBack(2)},
		{name: "another process holds the lock", setup: lockIt, args: f.args(), code: 1,
			want: []string{"run directory", "in use by another ltecli", pid}, check: func(t *testing.T, dir, _ string) {
				if entries, _ := os.ReadDir(filepath.Join(dir, "run")); len(entries) != 1 {
					t.Errorf("the refused run wrote %v", entries)
				}
			}},
		{name: "--resume while the run is going", setup: then(f.done(), lockIt), args: f.args("--resume", "--steps", "3"), code: 1,
			want: []string{"in use by another ltecli", pid}, check: readsBack(2)},
		{name: "rerun into a checkpointed run", setup: f.done(), args: f.args(), code: 1,
			want: []string{"already holds a run with a checkpoint", "--resume"}, check: readsBack(2)},
		{name: "--resume with other settings", setup: f.done(), args: f.args("--resume", "--steps", "3", "--seed", "9", "--group-size", "3", "--algo", "grpo", "--lr", "0.5"), code: 1,
			want: []string{"was started with other settings", "algo \"lte\" (now \"grpo\")", "group_size 2 (now 3)", "lr 0.000001 (now 0.5)", "seed 1 (now 9)", "--allow-changes"},
			check: both(readsBack(2), func(t *testing.T, dir, _ string) {
				if c := runConfig(t, dir); c["seed"] != 1.0 || c["changes"] != nil {
					t.Errorf("run_config changed: %v", c)
				}
			})},
		{name: "--resume --allow-changes records the changes", setup: f.done(), args: f.args("--resume", "--steps", "3", "--seed", "9", "--allow-changes"), code: 0,
			check: both(readsBack(3), func(t *testing.T, dir, _ string) {
				c := runConfig(t, dir)
				raw, _ := json.Marshal(c["changes"])
				if c["seed"] != 9.0 || c["steps"] != 3.0 || string(raw) != `[{"at_step":2,"changed":[{"from":1,"key":"seed","to":9},{"from":2,"key":"steps","to":3}]}]` {
					t.Errorf("run_config: seed %v, steps %v, changes %s", c["seed"], c["steps"], raw)
				}
			})},
		{name: "--resume with more steps", setup: f.done(), args: f.args("--resume", "--steps", "3"), code: 0, check: readsBack(3)},
		{name: "--resume with fewer steps", setup: f.done(), args: f.args("--resume", "--steps", "1"), code: 1,
			want: []string{"--steps 1 is below the step of the latest checkpoint, 2"}, check: readsBack(2)},
		{name: "--resume without a run", args: f.args("--resume"), code: 1, want: []string{"holds no run to resume", "leave out --resume"}, check: noRunDir},
		{name: "killed before the first checkpoint, rerun", setup: killedBeforeCheckpoint, args: f.args(), code: 0, check: both(readsBack(2), noStale)},
		{name: "killed before the first checkpoint, --resume", setup: then(killedBeforeCheckpoint, func(t *testing.T, dir string) []string {
			// The settings the killed run was started with.
			writeFile(t, filepath.Join(dir, "run", lte.ConfigFile), "{}")
			return nil
		}), args: f.args("--resume", "--allow-changes"), code: 0, check: both(readsBack(2), noStale)},
		{name: "one bit flipped in the latest checkpoint", setup: then(f.done(), flip), args: f.args("--resume", "--steps", "3"), code: 1,
			want: []string{"step-000002", "model.safetensors has changed", "newest good checkpoint is step-000001"},
			check: func(t *testing.T, dir, _ string) {
				if ms, _ := readMetrics(filepath.Join(dir, "run")); len(ms) != 2 {
					t.Errorf("%d metrics lines after a refused resume", len(ms))
				}
			}},
		{name: "rms_norm_eps -1", setup: setConfig("rms_norm_eps", -1), args: f.args(), code: 1, want: []string{"config.json", "rms_norm_eps must be a positive number"}, check: noRunDir},
		{name: "hidden_size 10^12", setup: setConfig("hidden_size", 1000000000000), args: f.args(), code: 1, want: []string{"hidden_size 1000000000000 is beyond"}, check: noRunDir},
		{name: "one layer read from a two-layer checkpoint", setup: setConfig("num_hidden_layers", 1), args: f.args(), code: 1,
			want: []string{"holds 11 tensors its config.json does not use", "model.layers.1."}, check: noRunDir},
		{name: "a question longer than the context", setup: func(t *testing.T, dir string) []string {
			p := writeFile(t, filepath.Join(dir, "long.jsonl"), fmt.Sprintf(`{"id": "q0", "question": "1+1?", "answer": "2"}`+"\n"+`{"id": "huge-7", "question": %q, "answer": "3"}`+"\n", long))
			return []string{"--train", p}
		}, args: f.args(), code: 1, want: []string{`problem "huge-7"`, "does not fit in the model's context of 512 tokens"}, check: noRunDir},
		{name: "--max-tokens beyond the context", args: f.args("--max-tokens", "600"), code: 1, want: []string{"--max-tokens 600 leaves no room"}, check: noRunDir},
		{name: "a huge learning rate", args: f.args("--lr", "1e30", "--steps", "6", "--max-grad-norm", "0"), code: 1,
			want: []string{"non-finite at step", "last good checkpoint"}, check: func(t *testing.T, dir, _ string) {
				run := filepath.Join(dir, "run")
				for _, ckpt := range []string{"step-000001", "step-000002", "step-000003", "step-000004", "step-000005"} {
					path := filepath.Join(run, lte.CheckpointsDir, ckpt)
					if _, err := os.Stat(path); err != nil {
						continue
					}
					c, err := weights.OpenCheckpoint(path)
					if err != nil {
						t.Fatal(err)
					}
					s, err := c.LoadStore(nil)
					if err != nil {
						t.Fatal(err)
					}
					if _, bad := nonFinite(s.Data); bad {
						t.Errorf("checkpoint %s holds non-finite parameters", ckpt)
					}
				}
				if _, err := readMetrics(run); err != nil {
					t.Errorf("metrics: %v", err)
				}
			}},
	})
}

func nonFinite(xs []float32) (int, bool) {
	for i, x := range xs {
		if x != x || x > 3.4e38 || x < -3.4e38 {
			return i, true
		}
	}
	return 0, false
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	f.WriteAt(b, at)
}
