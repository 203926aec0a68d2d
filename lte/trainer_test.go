package lte

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
	"ltecli/model/tokenizer"
	"ltecli/weights"
)

// tinyRun builds a random tiny model folder with a byte tokenizer.
func tinyRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := qwen3test.Config(true)
	cfg.NumHiddenLayers = 1
	if _, err := qwen3test.Write(dir, cfg, 4, 0.2, weights.F32); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeChecker judges a response correct when its hash says so (about one in four), and takes
// its first character as the answer, so that mistakes repeat and deduplicate.
var fakeChecker = Checker{
	Check: func(response, gold string) (bool, string) {
		h := fnv.New32a()
		h.Write([]byte(response + gold))
		ans := ""
		if r := []rune(strings.TrimSpace(response)); len(r) > 0 {
			ans = string(r[0])
		}
		return h.Sum32()%4 == 0, ans
	},
	Equal: func(a, b string) bool { return a == b },
}

func newTinyTrainer(t *testing.T, modelDir string, cfg Config) *Trainer {
	t.Helper()
	var problems []Problem
	for i := 0; i < 6; i++ {
		problems = append(problems, Problem{ID: fmt.Sprint("p", i), Question: fmt.Sprintf("What is %d+%d?", i, i), Answer: fmt.Sprint(2 * i)})
	}
	return newTinyTrainerOn(t, modelDir, cfg, "qwen-boxed", problems)
}

// newTinyTrainerOn makes a trainer on given problems with a built-in prompt template.
func newTinyTrainerOn(t *testing.T, modelDir string, cfg Config, template string, problems []Problem) *Trainer {
	t.Helper()
	m, err := qwen3.Load(modelDir, qwen3.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.Load(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := tokenizer.TemplateByName(template)
	if err != nil {
		t.Fatal(err)
	}
	// Many stop tokens keep the random model's responses short, so that most finish before
	// the length limit and get verified.
	stops := []int{qwen3test.ImEnd}
	for id := 0; id < 90; id++ {
		stops = append(stops, id)
	}
	tr, err := NewTrainer(cfg, m, tok, tmpl, stops, problems, fakeChecker)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func tinyConfig(algo string) Config {
	cfg := DefaultConfig()
	cfg.Algo, cfg.Steps, cfg.BatchProblems, cfg.GroupSize, cfg.HintGroupSize, cfg.MaxTokens = algo, 4, 3, 4, 8, 6
	cfg.LR, cfg.CheckpointEvery, cfg.MicroTokens = 1e-2, 2, 200
	cfg.Loss.KLCoef, cfg.Loss.KL = 0.01, "k3"
	cfg.BufferMode = "all"
	return cfg
}

func runTo(t *testing.T, tr *Trainer, rd *RunDir, modelDir string) []*Metrics {
	t.Helper()
	var ms []*Metrics
	tr.OnSamples = rd.WriteSamples
	tr.Hooks = []Hook{
		{Name: "metrics", Every: 1, Fn: func(step int, m *Metrics) error { ms = append(ms, m); return rd.WriteMetrics(m) }},
		{Name: "checkpoint", Every: tr.Config.CheckpointEvery, AtEnd: true, Fn: func(step int, _ *Metrics) error {
			_, err := rd.SaveCheckpoint(step, tr.Model.Params, tr.Opt, tr.Buffer, modelDir, 2)
			return err
		}},
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestLTERunExercisesHintsAndResumesExactly(t *testing.T) {
	modelDir := tinyRun(t)
	cfg := tinyConfig(AlgoLTE)

	straightDir := filepath.Join(t.TempDir(), "straight")
	rd, err := CreateRunDir(straightDir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	straight := newTinyTrainer(t, modelDir, cfg)
	ms := runTo(t, straight, rd, modelDir)
	rd.Close()

	hinted, used := 0, 0
	samples, err := ReadSamples(filepath.Join(straightDir, SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Hinted {
			hinted++
			if !strings.Contains(s.Prompt, "Hint:") && s.Template != TemplateConcise {
				t.Errorf("hinted sample without a hint: %q", s.Prompt)
			}
			for _, a := range s.HintAnswers {
				if !strings.Contains(s.Prompt, "$"+a+"$") {
					t.Errorf("hint answer %q not in prompt %q", a, s.Prompt)
				}
			}
			if s.Used != nil && *s.Used {
				used++
			}
		}
	}
	if hinted == 0 || used == 0 {
		t.Fatalf("no hinted samples (%d) or none used (%d) in %d samples", hinted, used, len(samples))
	}
	raw, err := os.ReadFile(filepath.Join(straightDir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); len(lines) != len(ms) || err != nil {
		t.Fatalf("%d metrics lines for %d steps; last: %v", len(lines), len(ms), err)
	}
	for _, key := range []string{"none_pass", "none_pass_after", "hinted_groups", "rescued_groups", "buffer_answers", "template_hint", "grad_norm", "kl", "clip_frac", "time_step_s"} {
		if _, ok := last[key]; !ok {
			t.Errorf("metrics line lacks %q: %s", key, lines[len(lines)-1])
		}
	}
	if got := last["hinted_groups"]; got != float64(ms[len(ms)-1].Hints.HintedGroups) {
		t.Errorf("hinted_groups written as %v, the step had %d", got, ms[len(ms)-1].Hints.HintedGroups)
	}

	// Stop after 2 steps (a checkpoint), resume, finish: same parameters and files.
	splitDir := filepath.Join(t.TempDir(), "split")
	rd, _ = CreateRunDir(splitDir, cfg)
	first := newTinyTrainer(t, modelDir, cfg)
	first.Config.Steps = 3 // runs past the step-2 checkpoint; the resume cuts step 3 away
	runTo(t, first, rd, modelDir)
	rd.Close()
	os.RemoveAll(filepath.Join(splitDir, CheckpointsDir, "step-000003"))
	rd, ckpt, st, err := ResumeRunDir(splitDir)
	if err != nil {
		t.Fatal(err)
	}
	resumed := newTinyTrainer(t, modelDir, cfg)
	if err := resumed.Restore(ckpt, st); err != nil {
		t.Fatal(err)
	}
	if resumed.Step != 2 {
		t.Fatalf("resumed at step %d", resumed.Step)
	}
	runTo(t, resumed, rd, modelDir)
	rd.Close()
	if !reflect.DeepEqual(straight.Model.Params.Data, resumed.Model.Params.Data) {
		t.Fatal("resumed run ended with different parameters")
	}
	a, _ := ReadSamples(filepath.Join(straightDir, SamplesFile))
	b, _ := ReadSamples(filepath.Join(splitDir, SamplesFile))
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("samples differ: %d vs %d records", len(a), len(b))
	}
}

func TestGRPOAndExtraRun(t *testing.T) {
	modelDir := tinyRun(t)
	for _, algo := range []string{AlgoGRPO, AlgoGRPOExtra} {
		cfg := tinyConfig(algo)
		cfg.Steps = 2
		rd, err := CreateRunDir(filepath.Join(t.TempDir(), algo), cfg)
		if err != nil {
			t.Fatal(err)
		}
		ms := runTo(t, newTinyTrainer(t, modelDir, cfg), rd, modelDir)
		rd.Close()
		if hasHints := ms[0].Hints != nil; hasHints != (algo == AlgoGRPOExtra) {
			t.Errorf("%s: hinted_groups present = %v", algo, hasHints)
		}
	}
}

// TestScheduleAdvancesPerTrainingStep: with several optimizer steps per training step, the
// learning rate follows the schedule in training steps (warm-up and total are counted in
// them), the same for every optimizer step of a training step.
func TestScheduleAdvancesPerTrainingStep(t *testing.T) {
	modelDir := tinyRun(t)
	cfg := tinyConfig(AlgoGRPO)
	cfg.Steps, cfg.Schedule, cfg.Warmup, cfg.LR = 5, "linear", 2, 1e-2
	cfg.MiniBatches, cfg.PPOEpochs, cfg.Loss.KLCoef = 2, 2, 0
	tr := newTinyTrainer(t, modelDir, cfg)
	// Closed form: warm-up lr*(s+1)/2 for s < 2, then linear from lr at s = 2 to 0 at s = 5.
	want := []float64{0.5e-2, 1e-2, 1e-2, 1e-2 * 2 / 3, 1e-2 / 3}
	for s := range cfg.Steps {
		before := tr.Opt.Step
		m, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		tr.Step++
		if got := m.Update.LR; math.Abs(got-want[s]) > 1e-15 {
			t.Errorf("training step %d: lr %g, want %g", s+1, got, want[s])
		}
		if n := tr.Opt.Step - before + m.Update.SkippedSteps; n != 4 {
			t.Errorf("training step %d took %d optimizer steps, want 4", s+1, n)
		}
	}
}
