package lte

import (
	"math/rand/v2"
	"runtime"
	"sync"

	"ltecli/model/generate"
)

// Rollout is one sampled response and its verdict.
type Rollout struct {
	Group       int    // index of its problem in the step's batch
	Prompt      string // the prompt text it was sampled from
	Sample      generate.Sample
	Response    string
	Answer      string // extracted final answer ("" when none)
	Correct     bool
	Template    string   // plain, hint, concise_hint or concise
	HintAnswers []string // answers listed in its prompt, as written there
	Hinted      bool
	Extra       bool // a GRPO-Extra sample: plain prompt, drawn for a none-pass problem
	Used        bool // a hinted or extra sample that replaced a failed one
	Advantage   float64
}

// Truncated reports a response cut at the length limit.
func (r *Rollout) Truncated() bool { return r.Sample.FinishReason == generate.FinishLength }

// ResponseIDs are the tokens trained on: the response plus its stop token when it stopped.
func (r *Rollout) ResponseIDs() []int {
	ids := append([]int(nil), r.Sample.IDs...)
	if r.Sample.StopID >= 0 {
		ids = append(ids, r.Sample.StopID)
	}
	return ids
}

// BehaviourLogp are the sampling log-probs of ResponseIDs.
func (r *Rollout) BehaviourLogp() []float64 {
	out := make([]float64, 0, len(r.Sample.Logprobs)+1)
	for _, l := range r.Sample.Logprobs {
		out = append(out, float64(l))
	}
	if r.Sample.StopID >= 0 {
		out = append(out, float64(r.Sample.StopLogprob))
	}
	return out
}

// Checker verifies a response against a gold answer, returning the verdict and the extracted
// answer; Equal says whether two answers are the same (for deduplicating mistakes).
type Checker struct {
	Check func(response, gold string) (correct bool, answer string)
	Equal func(a, b string) bool
}

// verifyAll fills Correct and Answer of every rollout, in parallel across cores. A response
// cut at the length limit has not given its final answer: it is wrong and has no answer (so
// it is never listed as a mistake; LTE lists the wrong answers of untruncated responses).
func (c Checker) verifyAll(rollouts []*Rollout, gold func(group int) string) {
	var wg sync.WaitGroup
	next := make(chan *Rollout)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if !r.Truncated() {
					r.Correct, r.Answer = c.Check(r.Response, gold(r.Group))
				}
			}
		}()
	}
	for _, r := range rollouts {
		next <- r
	}
	close(next)
	wg.Wait()
}

// Mix puts the correct ones of candidates (hinted or extra samples of one none-pass group) in
// place of failed samples of group, chosen at random by rng, and marks them Used. Incorrect
// candidates are dropped. It returns the mixed group (a new slice) and how many were used.
func Mix(group, candidates []*Rollout, rng *rand.Rand) ([]*Rollout, int) {
	var failed []int
	for i, r := range group {
		if !r.Correct {
			failed = append(failed, i)
		}
	}
	mixed := append([]*Rollout(nil), group...)
	rng.Shuffle(len(failed), func(i, j int) { failed[i], failed[j] = failed[j], failed[i] })
	used := 0
	for _, c := range candidates {
		if !c.Correct || used == len(failed) {
			continue
		}
		c.Used = true
		mixed[failed[used]] = c
		used++
	}
	return mixed, used
}
