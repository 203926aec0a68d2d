package eval

import (
	"fmt"

	"ltecli/lte"
)

// How a response cut at the length limit is counted. The rule is one of Settings and of a
// Sampler, so evaluation and in-run validation count alike.
const (
	// TruncatedWrong counts a truncated response wrong, as the training reward does: its
	// answer is still extracted (Pred) but Correct is false. The default.
	TruncatedWrong = "wrong"
	// TruncatedVerify verifies a truncated response like any other.
	TruncatedVerify = "verify"
)

// CheckTruncated reports an unknown truncation rule; "" is TruncatedWrong.
func CheckTruncated(rule string) error {
	switch rule {
	case "", TruncatedWrong, TruncatedVerify:
		return nil
	}
	return fmt.Errorf("truncation rule %q: want %s or %s", rule, TruncatedWrong, TruncatedVerify)
}

// Sampler is the one path from problems to Pass@k, shared by `ltecli eval` and in-run
// validation: it renders each problem's prompt, generates N responses through Generate (any
// backend), verifies them with Check on all cores, applies the truncation rule, and hands
// back samples that Score counts.
type Sampler struct {
	N         int
	Seed      uint64
	Batch     int                                 // problems per Generate call; 0 means 1
	Render    func(p lte.Problem) (string, error) // the prompt of a problem
	Generate  Generator
	Check     Check
	Truncated string // TruncatedWrong ("" too) or TruncatedVerify
}

// Sample runs the problems of the named set in calls of Batch problems, in order. A call's
// seed is derived from Seed, the set's name and the call's first problem, so the same
// problems, settings and seed give the same samples whichever command asks. After each call
// it passes that call's samples (N per problem, in problem order) to each, when not nil, and
// it returns all samples.
func (s *Sampler) Sample(set string, problems []lte.Problem, each func([]Sample) error) ([]Sample, error) {
	if s.N < 1 {
		return nil, fmt.Errorf("need at least one sample per problem, got n = %d", s.N)
	}
	if err := CheckTruncated(s.Truncated); err != nil {
		return nil, err
	}
	batch := max(s.Batch, 1)
	var all []Sample
	for first := 0; first < len(problems); first += batch {
		call := problems[first:min(first+batch, len(problems))]
		prompts := make([]string, len(call))
		for j, p := range call {
			var err error
			if prompts[j], err = s.Render(p); err != nil {
				return nil, fmt.Errorf("problem %s: %w", p.ID, err)
			}
		}
		responses, err := s.Generate(prompts, s.N, callSeed(s.Seed, set, call[0].ID))
		if err != nil {
			return nil, fmt.Errorf("generating for problems from %s: %w", call[0].ID, err)
		}
		if len(responses) != len(prompts) {
			return nil, fmt.Errorf("generator returned responses for %d prompts, want %d", len(responses), len(prompts))
		}
		samples := make([]Sample, 0, len(call)*s.N)
		for j, p := range call {
			if len(responses[j]) != s.N {
				return nil, fmt.Errorf("problem %s: generator returned %d responses, want %d", p.ID, len(responses[j]), s.N)
			}
			for k, resp := range responses[j] {
				samples = append(samples, Sample{
					Benchmark: set, ID: p.ID, Index: k, Gold: p.Answer, Prompt: prompts[j],
					Response: resp.Text, FinishReason: resp.FinishReason,
				})
			}
		}
		verifyAll(samples, s.Check, s.Truncated)
		if each != nil {
			if err := each(samples); err != nil {
				return nil, err
			}
		}
		all = append(all, samples...)
	}
	return all, nil
}

// verifyAll checks every sample on all cores and applies the truncation rule.
func verifyAll(samples []Sample, check Check, truncated string) {
	checkAll(samples, check)
	if truncated == TruncatedVerify {
		return
	}
	for i := range samples {
		if samples[i].FinishReason == FinishLength {
			samples[i].Correct = false
		}
	}
}

// FinishLength is the finish reason of a response cut at the length limit.
const FinishLength = "length"

// Tallies counts samples and correct ones per problem, in order of first appearance.
func Tallies(samples []Sample) []Tally { return tallySamples(samples) }

// Score aggregates samples into Pass@1 and the Pass@k of ks per set (see Aggregate).
func Score(samples []Sample, ks []int) (Results, error) {
	return Aggregate(tallySamples(samples), ks)
}
