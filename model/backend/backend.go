package backend

import (
	"context"
	"fmt"

	"ltecli/model/generate"
)

// Params control sampling; the same fields mean the same thing for every Generator.
type Params struct {
	N            int     // samples per prompt (>= 1)
	MaxNewTokens int     // generated tokens per sample, stop token included (>= 1)
	Temperature  float64 // 0 means greedy
	TopP         float64 // nucleus mass in (0, 1]; 0 means 1
	TopK         int     // 0 means no limit
	StopIDs      []int   // tokens that end a sample
	Seed         uint64  // prompt i's samples draw from generate.PromptSeed(Seed, i)+j
}

// Generator samples continuations of token-id prompts.
type Generator interface {
	// Generate returns p.N samples per prompt, ordered by prompt, then by sample index, each
	// with its tokens and their log-probabilities under softmax(logits / T) (T = 1 when
	// greedy); a sample that ended on a stop token carries it in StopID, not in IDs.
	Generate(ctx context.Context, prompts [][]int, p Params) ([]generate.Sample, error)
}

// WeightLoader is a Generator whose weights can be replaced by a checkpoint folder.
type WeightLoader interface {
	// LoadWeights makes the engine sample from the model folder dir and checks that it
	// reports version before returning.
	LoadWeights(ctx context.Context, dir, version string) error
}

// Local samples with the project's own engine in this process.
type Local struct {
	Model    generate.Model
	Vocab    int
	MaxBatch int // prompts per prefill call; 0 means all at once
}

// Generate samples with model/generate.
func (l *Local) Generate(_ context.Context, prompts [][]int, p Params) ([]generate.Sample, error) {
	return generate.Generate(l.Model, l.Vocab, prompts, p.generateParams(l.MaxBatch))
}

func (p Params) generateParams(maxBatch int) generate.Params {
	return generate.Params{
		N: p.N, MaxNewTokens: p.MaxNewTokens, Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK,
		Seed: p.Seed, StopIDs: p.StopIDs, MaxBatch: maxBatch,
	}
}

func (p Params) check() error {
	if p.N < 1 {
		return fmt.Errorf("n must be at least 1, got %d", p.N)
	}
	if p.MaxNewTokens < 1 {
		return fmt.Errorf("max new tokens must be at least 1, got %d", p.MaxNewTokens)
	}
	if p.Temperature < 0 || p.TopP < 0 || p.TopP > 1 || p.TopK < 0 {
		return fmt.Errorf("invalid sampling parameters (temperature %g, top-p %g, top-k %d)", p.Temperature, p.TopP, p.TopK)
	}
	return nil
}

// splitStop turns an engine's output (tokens and log-probs, the stop token included when it
// stopped on one) into a Sample.
func splitStop(prompt, index int, ids []int, logprobs []float32, finish string, stop map[int]bool) (generate.Sample, error) {
	if len(ids) != len(logprobs) {
		return generate.Sample{}, fmt.Errorf("%d tokens but %d log-probabilities", len(ids), len(logprobs))
	}
	s := generate.Sample{Prompt: prompt, Index: index, StopID: -1}
	switch finish {
	case generate.FinishStop, generate.FinishLength:
		s.FinishReason = finish
	default:
		return generate.Sample{}, fmt.Errorf("finish reason %q (want stop or length)", finish)
	}
	if n := len(ids); finish == generate.FinishStop && n > 0 && stop[ids[n-1]] {
		s.StopID, s.StopLogprob = ids[n-1], logprobs[n-1]
		ids, logprobs = ids[:n-1], logprobs[:n-1]
	}
	s.IDs, s.Logprobs = ids, logprobs
	return s, nil
}
