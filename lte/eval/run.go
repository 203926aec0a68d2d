package eval

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"time"

	"ltecli/lte"
	"ltecli/lte/zstdlog"
	"ltecli/weights"
)

// The files of an evaluation's output folder.
const (
	ResultsFile  = "results.json"      // Results
	SamplesFile  = "samples.jsonl.zst" // every Sample, one zstd frame per finished problem
	SettingsFile = "settings.json"     // the Settings the samples were drawn with
)

// Response is one generated continuation of a prompt.
type Response struct {
	Text         string
	FinishReason string // why generation ended: "stop" (a stop token) or "length"
}

// Generator returns n responses to each prompt, in prompt order; seed chooses the random
// streams of the call. Any generation backend can stand behind it.
type Generator func(prompts []string, n int, seed uint64) ([][]Response, error)

// Settings decide the samples of an evaluation. They are saved in settings.json, and an
// evaluation resumes only in an output folder saved with the same settings.
type Settings struct {
	Model       string  `json:"model"`
	Template    string  `json:"template"`
	N           int     `json:"n"` // samples per problem
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	MaxTokens   int     `json:"max_tokens"`
	Seed        uint64  `json:"seed"`
	Truncated   string  `json:"truncated"` // TruncatedWrong or TruncatedVerify
}

// Runner evaluates benchmarks into an output folder: through a Sampler (Settings give its N,
// Seed and truncation rule) it renders each problem's prompt, generates N responses and
// verifies them, and it appends the problem's samples to samples.jsonl.zst as one zstd frame,
// synced to disk. Run again on the same folder, it reads which problems are finished
// (dropping an incomplete last frame) and generates only the others. Each Generate call gets
// a seed derived from Settings.Seed, the benchmark's name and the call's first problem, so an
// uninterrupted evaluation is reproducible, and in-run validation with the same settings
// draws the same samples.
type Runner struct {
	Out      string
	Settings Settings
	Batch    int // problems per Generate call; 0 means 1
	Render   func(p lte.Problem) (string, error)
	Generate Generator
	Check    Check
	Progress io.Writer // a line per Generate call; nil for none
}

// Run evaluates every problem of benches, writes results.json for them (the pass@k of ks as
// Aggregate reports them) and returns the results.
func (r *Runner) Run(benches []Benchmark, ks []int) (Results, error) {
	if r.Settings.N < 1 {
		return Results{}, fmt.Errorf("eval: need at least one sample per problem, got n = %d", r.Settings.N)
	}
	if err := CheckTruncated(r.Settings.Truncated); err != nil {
		return Results{}, fmt.Errorf("eval: %w", err)
	}
	if r.Settings.Truncated == "" {
		r.Settings.Truncated = TruncatedWrong
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return Results{}, err
	}
	if err := r.checkSettings(); err != nil {
		return Results{}, err
	}
	samplesPath := filepath.Join(r.Out, SamplesFile)
	var earlier []Sample
	var valid int64
	if _, err := os.Stat(samplesPath); err == nil {
		if earlier, valid, _, err = readSampleFile(samplesPath); err != nil {
			return Results{}, fmt.Errorf("resuming: %w", err)
		}
	}
	done := map[problemKey]Tally{}
	for _, t := range tallySamples(earlier) {
		done[problemKey{t.Benchmark, t.ID}] = t
	}
	journal, err := zstdlog.Open(samplesPath, valid)
	if err != nil {
		return Results{}, err
	}
	for _, b := range benches {
		if err := r.runBenchmark(b, done, journal); err != nil {
			journal.Close()
			return Results{}, fmt.Errorf("benchmark %s: %w (finished problems are kept in %s: run the same command again to resume)", b.Name, err, r.Out)
		}
	}
	if err := journal.Close(); err != nil {
		return Results{}, err
	}
	var tallies []Tally
	for _, b := range benches {
		for _, p := range b.Problems {
			tallies = append(tallies, done[problemKey{b.Name, p.ID}])
		}
	}
	res, err := Aggregate(tallies, ks)
	if err != nil {
		return Results{}, err
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return Results{}, err
	}
	err = weights.WriteAtomic(filepath.Join(r.Out, ResultsFile), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
	return res, err
}

// checkSettings saves the settings in a new output folder and compares them with the saved
// ones in a folder being resumed.
func (r *Runner) checkSettings() error {
	path := filepath.Join(r.Out, SettingsFile)
	want, err := json.MarshalIndent(r.Settings, "", "  ")
	if err != nil {
		return err
	}
	want = append(want, '\n')
	saved, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return weights.WriteAtomic(path, func(w io.Writer) error {
			_, err := w.Write(want)
			return err
		})
	}
	if err != nil {
		return err
	}
	var had Settings
	if err := json.Unmarshal(saved, &had); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if had.Truncated == "" {
		had.Truncated = TruncatedVerify // saved before the rule was a setting: verified
	}
	if had != r.Settings {
		return fmt.Errorf("%s holds an evaluation with other settings (%s): use the same flags to resume it, or another --out", r.Out, saved)
	}
	return nil
}

// runBenchmark generates, verifies and logs the problems of b that done lacks, adding them
// to done.
func (r *Runner) runBenchmark(b Benchmark, done map[problemKey]Tally, journal *zstdlog.Log) error {
	var pending []int
	finished, correct := 0, 0.0 // problems done and the sum of their accuracies
	for i, p := range b.Problems {
		if t, ok := done[problemKey{b.Name, p.ID}]; ok {
			finished++
			correct += float64(t.Correct) / float64(t.Samples)
		} else {
			pending = append(pending, i)
		}
	}
	if finished > 0 {
		r.progress("%s: %d of %d problems were done earlier\n", b.Name, finished, len(b.Problems))
	}
	start := time.Now()
	sampler := Sampler{N: r.Settings.N, Seed: r.Settings.Seed, Batch: r.Batch, Render: r.Render, Generate: r.Generate, Check: r.Check, Truncated: r.Settings.Truncated}
	problems := make([]lte.Problem, len(pending))
	for j, i := range pending {
		problems[j] = b.Problems[i]
	}
	generated := 0
	_, err := sampler.Sample(b.Name, problems, func(samples []Sample) error {
		for len(samples) > 0 {
			problem := samples[:r.Settings.N]
			samples = samples[r.Settings.N:]
			if err := appendSamples(journal, problem); err != nil {
				return err
			}
			t := tallySamples(problem)[0]
			done[problemKey{t.Benchmark, t.ID}] = t
			finished++
			generated++
			correct += float64(t.Correct) / float64(t.Samples)
		}
		perProblem := time.Since(start) / time.Duration(generated)
		r.progress("%s: %d/%d problems  pass@1 %.2f%%  %.1fs/problem  eta %s\n", b.Name, finished, len(b.Problems),
			100*correct/float64(finished), perProblem.Seconds(), (perProblem * time.Duration(len(pending)-generated)).Round(time.Second))
		return nil
	})
	return err
}

// progress writes a progress line when a progress writer is set.
func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format, args...)
	}
}

// callSeed derives the seed of a Generate call from the evaluation's seed and the call's
// first problem, so that a call's samples do not depend on what ran before it.
func callSeed(seed uint64, benchmark, firstID string) uint64 {
	h := fnv.New64a()
	h.Write(binary.LittleEndian.AppendUint64(nil, seed))
	h.Write([]byte(benchmark))
	h.Write([]byte{0})
	h.Write([]byte(firstID))
	return h.Sum64()
}
