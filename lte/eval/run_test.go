package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"ltecli/lte"
)

// fakeBenchmarks: problem i of a benchmark has gold answer "i".
func fakeBenchmarks() []Benchmark {
	var out []Benchmark
	for _, b := range []struct {
		name string
		size int
	}{{"alpha", 5}, {"beta", 3}} {
		bench := Benchmark{Name: b.name}
		for i := range b.size {
			bench.Problems = append(bench.Problems, lte.Problem{ID: strconv.Itoa(i), Question: "q" + strconv.Itoa(i), Answer: strconv.Itoa(i)})
		}
		out = append(out, bench)
	}
	return out
}

// fakeGenerator answers prompt "P:q<i>" with n responses of which the first i mod (n+1) are
// "i" (correct) and the rest "wrong"; it records the questions it saw and fails once it has
// served failAfter calls (never when failAfter < 0).
type fakeGenerator struct {
	n         int
	failAfter int
	calls     int
	seen      []string
}

func (g *fakeGenerator) generate(prompts []string, n int, seed uint64) ([][]Response, error) {
	if g.failAfter >= 0 && g.calls >= g.failAfter {
		return nil, errors.New("device lost")
	}
	g.calls++
	out := make([][]Response, len(prompts))
	for j, p := range prompts {
		q := strings.TrimPrefix(p, "P:")
		g.seen = append(g.seen, q)
		i, _ := strconv.Atoi(strings.TrimPrefix(q, "q"))
		for k := range n {
			text := "wrong"
			if k < i%(n+1) {
				text = strconv.Itoa(i)
			}
			out[j] = append(out[j], Response{Text: text, FinishReason: "stop"})
		}
	}
	return out, nil
}

func newRunner(dir string, g *fakeGenerator) *Runner {
	return &Runner{
		Out:      dir,
		Settings: Settings{Model: "m", Template: "t", N: g.n, Temperature: 0.6, TopP: 0.95, MaxTokens: 16, Seed: 1},
		Batch:    2,
		Render:   func(p lte.Problem) (string, error) { return "P:" + p.Question, nil },
		Generate: g.generate,
		Check:    exactCheck,
	}
}

func TestRunnerResumes(t *testing.T) {
	const n = 4
	// alpha: problems 0..4 with 0, 1, 2, 3, 4 correct of 4; beta: 0, 1, 2 correct.
	wantPass1 := map[string]float64{"alpha": (0 + 1 + 2 + 3 + 4) / 20.0, "beta": (0 + 1 + 2) / 12.0}

	whole := &fakeGenerator{n: n, failAfter: -1}
	want, err := newRunner(t.TempDir(), whole).Run(fakeBenchmarks(), []int{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range wantPass1 {
		if got := want.Benchmarks[name].Pass[1]; got != p {
			t.Errorf("%s pass@1 %g, want %g", name, got, p)
		}
	}

	dir := t.TempDir()
	first := &fakeGenerator{n: n, failAfter: 2}
	if _, err := newRunner(dir, first).Run(fakeBenchmarks(), []int{2, 4}); err == nil || !strings.Contains(err.Error(), "device lost") {
		t.Fatalf("interrupted run: error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err == nil {
		t.Error("an interrupted run wrote results.json")
	}
	// Two calls of two problems are on disk; cut the last frame short as a crash would.
	samplesPath := filepath.Join(dir, SamplesFile)
	raw, _ := os.ReadFile(samplesPath)
	os.WriteFile(samplesPath, raw[:len(raw)-3], 0o644)

	second := &fakeGenerator{n: n, failAfter: -1}
	r := newRunner(dir, second)
	var progress strings.Builder
	r.Progress = &progress
	got, err := r.Run(fakeBenchmarks(), []int{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"q3", "q4", "q0", "q1", "q2"}; !reflect.DeepEqual(second.seen, want) {
		t.Errorf("resumed run generated %v, want alpha's q3, q4 and all of beta", second.seen)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resumed results %+v, uninterrupted %+v", got, want)
	}
	if !strings.Contains(progress.String(), "alpha: 3 of 5 problems were done earlier") {
		t.Errorf("progress:\n%s", progress.String())
	}

	var onDisk Results
	raw, _ = os.ReadFile(filepath.Join(dir, ResultsFile))
	if err := json.Unmarshal(raw, &onDisk); err != nil || !reflect.DeepEqual(onDisk, want) {
		t.Errorf("results.json %s (%v)", raw, err)
	}
	samples, ignored, err := ReadSamples(samplesPath)
	if err != nil || ignored != 0 {
		t.Fatalf("samples file after resuming: %v, %d bytes ignored", err, ignored)
	}
	if len(samples) != 8*n {
		t.Errorf("%d samples, want %d", len(samples), 8*n)
	}
	if s := samples[n*2+1]; s.Benchmark != "alpha" || s.ID != "2" || s.Index != 1 || !s.Correct || s.Prompt != "P:q2" || s.Pred != "2" || s.FinishReason != "stop" {
		t.Errorf("sample %+v", s)
	}

	// Nothing left: a third run generates nothing and gives the same results.
	third := &fakeGenerator{n: n, failAfter: 0}
	if again, err := newRunner(dir, third).Run(fakeBenchmarks(), []int{2, 4}); err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("finished run again: %v, %+v", err, again)
	}
}

func TestRunnerRefusesOtherSettings(t *testing.T) {
	dir := t.TempDir()
	g := &fakeGenerator{n: 2, failAfter: -1}
	if _, err := newRunner(dir, g).Run(fakeBenchmarks()[:1], nil); err != nil {
		t.Fatal(err)
	}
	r := newRunner(dir, g)
	r.Settings.Temperature = 1
	if _, err := r.Run(fakeBenchmarks()[:1], nil); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resuming with another temperature: %v", err)
	}
}

func TestRunnerChecksGeneratorOutput(t *testing.T) {
	r := newRunner(t.TempDir(), &fakeGenerator{n: 2, failAfter: -1})
	r.Generate = func(prompts []string, n int, seed uint64) ([][]Response, error) {
		return make([][]Response, len(prompts)), nil
	}
	_, err := r.Run(fakeBenchmarks(), nil)
	if want := "generator returned 0 responses, want 2"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

func TestCallSeedDependsOnProblem(t *testing.T) {
	seen := map[uint64]string{}
	for _, c := range []struct {
		seed  uint64
		bench string
		id    string
	}{{1, "a", "1"}, {2, "a", "1"}, {1, "b", "1"}, {1, "a", "2"}, {1, "a1", ""}} {
		s := callSeed(c.seed, c.bench, c.id)
		key := fmt.Sprint(c)
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s share seed %d", key, other, s)
		}
		seen[s] = key
	}
}

// TestSamplerTruncationRule: a truncated response with the right answer counts wrong under
// TruncatedWrong (its answer still extracted) and right under TruncatedVerify; the Runner
// and Rescore apply the same rule.
func TestSamplerTruncationRule(t *testing.T) {
	gen := func(prompts []string, n int, seed uint64) ([][]Response, error) {
		out := make([][]Response, len(prompts))
		for j := range prompts {
			for k := range n {
				finish := "stop"
				if k%2 == 1 {
					finish = FinishLength
				}
				out[j] = append(out[j], Response{Text: "7", FinishReason: finish})
			}
		}
		return out, nil
	}
	problems := []lte.Problem{{ID: "a", Question: "q", Answer: "7"}, {ID: "b", Question: "q", Answer: "7"}}
	for rule, want := range map[string]float64{TruncatedWrong: 0.5, "": 0.5, TruncatedVerify: 1} {
		s := Sampler{N: 4, Batch: 1, Render: func(p lte.Problem) (string, error) { return p.Question, nil }, Generate: gen, Check: exactCheck, Truncated: rule}
		samples, err := s.Sample("set", problems, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Score(samples, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Benchmarks["set"].Pass[1]; got != want {
			t.Errorf("rule %q: pass@1 %g, want %g", rule, got, want)
		}
		if samples[1].Pred != "7" {
			t.Errorf("rule %q: truncated sample's answer not extracted: %+v", rule, samples[1])
		}
		res, _ = Aggregate(Rescore(samples, exactCheck, rule), nil)
		if got := res.Benchmarks["set"].Pass[1]; got != want {
			t.Errorf("rule %q: rescored pass@1 %g, want %g", rule, got, want)
		}
		r := &Runner{Out: t.TempDir(), Settings: Settings{N: 4, Seed: 1, Truncated: rule}, Render: s.Render, Generate: gen, Check: exactCheck}
		res, err = r.Run([]Benchmark{{Name: "set", Problems: problems}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Benchmarks["set"].Pass[1]; got != want {
			t.Errorf("rule %q: runner pass@1 %g, want %g", rule, got, want)
		}
	}
	if _, err := (&Sampler{N: 1, Truncated: "lenient"}).Sample("set", problems, nil); err == nil {
		t.Error("unknown truncation rule accepted")
	}
}
