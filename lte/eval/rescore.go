package eval

import (
	"runtime"
	"sync"
)

// Check verifies a response against a gold answer and returns the verdict and the answer it
// extracted from the response. It must be safe for concurrent use.
type Check func(response, gold string) (correct bool, pred string)

// checkAll fills Correct and Pred of every sample with check, on all cores.
func checkAll(samples []Sample, check Check) {
	var wg sync.WaitGroup
	next := make(chan *Sample)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for s := range next {
				s.Correct, s.Pred = check(s.Response, s.Gold)
			}
		})
	}
	for i := range samples {
		next <- &samples[i]
	}
	close(next)
	wg.Wait()
}

// Rescore verifies every sample again with check, in parallel across cores, under the
// truncation rule, overwriting Correct and Pred, and returns one tally per (benchmark, id) in
// order of first appearance.
func Rescore(samples []Sample, check Check, truncated string) []Tally {
	verifyAll(samples, check, truncated)
	return tallySamples(samples)
}

// problemKey identifies a problem across benchmarks.
type problemKey struct{ benchmark, id string }

// tallySamples counts samples and correct ones per problem, in order of first appearance.
func tallySamples(samples []Sample) []Tally {
	index := map[problemKey]int{}
	var tallies []Tally
	for _, s := range samples {
		key := problemKey{s.Benchmark, s.ID}
		i, ok := index[key]
		if !ok {
			i = len(tallies)
			index[key] = i
			tallies = append(tallies, Tally{Benchmark: s.Benchmark, ID: s.ID})
		}
		tallies[i].Samples++
		if s.Correct {
			tallies[i].Correct++
		}
	}
	return tallies
}
