// Package generate samples continuations of prompts with a KV-cached Qwen3 model: each prompt
// is prefilled once, its cache is shared by its n samples, and finished rows leave the batch so
// that they stop costing compute.
package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"ltecli/model/qwen3"
)

// Finish reasons.
const (
	FinishStop   = "stop"   // a stop token was sampled
	FinishLength = "length" // MaxNewTokens were generated
)

// Params control sampling.
type Params struct {
	N            int     // samples per prompt (>= 1)
	MaxNewTokens int     // generated tokens per sample, stop token included (>= 1)
	Temperature  float64 // 0 means greedy
	TopP         float64 // nucleus mass in (0, 1]; 0 means 1
	TopK         int     // 0 means no limit
	Seed         uint64  // the same seed gives the same samples
	// Seeds, when set, holds one seed per prompt and replaces Seed: sample j of prompt i
	// draws from the stream of seed Seeds[i]+j. Without it, Seeds[i] is PromptSeed(Seed, i).
	Seeds    []uint64
	StopIDs  []int // tokens that end a sample
	MaxBatch int   // rows per prefill call; 0 means all prompts at once
}

// Sample is one generated continuation.
type Sample struct {
	Prompt       int       // index of its prompt
	Index        int       // sample number within the prompt, 0..N-1
	IDs          []int     // generated tokens, stop token excluded
	Logprobs     []float32 // log-probability of each token of IDs under softmax(logits / T) (T = 1 when greedy)
	StopID       int       // the stop token sampled, or -1
	StopLogprob  float32   // its log-probability
	FinishReason string    // FinishStop or FinishLength
}

// Model is what generation needs from a model; *qwen3.Model implements it.
type Model interface {
	Prefill(b qwen3.Batch) ([]float32, *qwen3.KVCache, error)
	Decode(ids, mask []int64, cache *qwen3.KVCache) ([]float32, *qwen3.KVCache, error)
}

// Generate samples p.N continuations of each prompt. Samples come back ordered by prompt, then
// by sample index. Sample j of prompt i draws from its own random stream, that of the seed
// Seeds[i]+j, so which tokens are drawn does not depend on batching.
func Generate(m Model, vocab int, prompts [][]int, p Params) ([]Sample, error) {
	if p.N < 1 {
		return nil, fmt.Errorf("generate: n must be at least 1, got %d", p.N)
	}
	if p.MaxNewTokens < 1 {
		return nil, fmt.Errorf("generate: max new tokens must be at least 1, got %d", p.MaxNewTokens)
	}
	if p.Temperature < 0 || p.TopP < 0 || p.TopP > 1 || p.TopK < 0 {
		return nil, fmt.Errorf("generate: invalid sampling parameters (temperature %g, top-p %g, top-k %d)", p.Temperature, p.TopP, p.TopK)
	}
	if p.Seeds != nil && len(p.Seeds) != len(prompts) {
		return nil, fmt.Errorf("generate: %d seeds for %d prompts", len(p.Seeds), len(prompts))
	}
	for i, pr := range prompts {
		if len(pr) == 0 {
			return nil, fmt.Errorf("generate: prompt %d is empty", i)
		}
		for _, id := range pr {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("generate: prompt %d has token %d outside the vocabulary of %d", i, id, vocab)
			}
		}
	}
	chunk := p.MaxBatch
	if chunk <= 0 {
		chunk = len(prompts)
	}
	out := make([]Sample, 0, len(prompts)*p.N)
	for start := 0; start < len(prompts); start += chunk {
		end := min(start+chunk, len(prompts))
		got, err := generateChunk(m, vocab, prompts[start:end], start, p)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// row is one sample being generated.
type row struct {
	sample *Sample
	mask   []int64 // attention mask so far (left padding, prompt, generated tokens)
	rng    *rand.Rand
}

func generateChunk(m Model, vocab int, prompts [][]int, offset int, p Params) ([]Sample, error) {
	batch := qwen3.LeftPad(prompts)
	logits, prefilled, err := m.Prefill(batch)
	if err != nil {
		return nil, err
	}
	defer prefilled.Close()
	samples := make([]Sample, len(prompts)*p.N)
	rows := make([]*row, 0, len(samples))
	share := make([]int, 0, len(samples))
	for i := range prompts {
		for j := 0; j < p.N; j++ {
			s := &samples[i*p.N+j]
			*s = Sample{Prompt: offset + i, Index: j, StopID: -1}
			rows = append(rows, &row{
				sample: s,
				mask:   slices.Clone(batch.Mask[i*batch.T : (i+1)*batch.T]),
				rng:    SampleRand(p.promptSeed(offset+i) + uint64(j)),
			})
			share = append(share, i)
		}
	}
	cache, err := prefilled.SelectRows(share)
	if err != nil {
		return nil, err
	}
	defer func() { cache.Close() }()
	rowLogits := make([][]float32, len(rows))
	for r := range rows {
		i := share[r]
		rowLogits[r] = logits[i*vocab : (i+1)*vocab]
	}
	stop := map[int]bool{}
	for _, id := range p.StopIDs {
		stop[id] = true
	}
	probs := make([]float64, vocab)
	for len(rows) > 0 {
		var keep []int
		var next []int64
		for r, rw := range rows {
			tok, lp := sampleToken(rowLogits[r], probs, p, rw.rng)
			s := rw.sample
			switch {
			case stop[tok]:
				s.StopID, s.StopLogprob, s.FinishReason = tok, lp, FinishStop
			default:
				s.IDs = append(s.IDs, tok)
				s.Logprobs = append(s.Logprobs, lp)
				if len(s.IDs) >= p.MaxNewTokens {
					s.FinishReason = FinishLength
				}
			}
			if s.FinishReason == "" {
				keep = append(keep, r)
				next = append(next, int64(tok))
			}
		}
		if len(keep) == 0 {
			break
		}
		if len(keep) < len(rows) {
			smaller, err := cache.SelectRows(keep)
			if err != nil {
				return nil, err
			}
			cache.Close()
			cache = smaller
			kept := make([]*row, len(keep))
			for j, r := range keep {
				kept[j] = rows[r]
			}
			rows = kept
		}
		mask := make([]int64, 0, len(rows)*(cache.P+1))
		for _, rw := range rows {
			rw.mask = append(rw.mask, 1)
			mask = append(mask, rw.mask...)
		}
		logits, cache, err = m.Decode(next, mask, cache)
		if err != nil {
			return nil, err
		}
		rowLogits = rowLogits[:len(rows)]
		for r := range rows {
			rowLogits[r] = logits[r*vocab : (r+1)*vocab]
		}
	}
	return samples, nil
}

// PromptSeed is the seed of prompt i's first sample when Params.Seeds is not set. It is
// below 2^62, so that the seeds of a prompt's samples (PromptSeed+j) fit the signed 64-bit
// seed of inference engines' HTTP requests.
func PromptSeed(seed uint64, prompt int) uint64 {
	return splitMix(seed^splitMix(uint64(prompt)+1)) >> 2
}

// SampleRand is the random stream of one sample's seed.
func SampleRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitMix(seed), splitMix(^seed)))
}

func (p Params) promptSeed(prompt int) uint64 {
	if p.Seeds != nil {
		return p.Seeds[prompt]
	}
	return PromptSeed(p.Seed, prompt)
}

// splitMix is the finaliser of SplitMix64: consecutive inputs give unrelated outputs.
func splitMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// sampleToken draws the next token from logits and returns it with its log-probability under
// softmax(logits / T) (T = 1 for greedy decoding). probs is scratch space of the vocabulary's
// size.
func sampleToken(logits []float32, probs []float64, p Params, rng *rand.Rand) (int, float32) {
	temp := p.Temperature
	if temp == 0 {
		temp = 1
	}
	maxL := math.Inf(-1)
	best := 0
	for i, l := range logits {
		if float64(l) > maxL {
			maxL, best = float64(l), i
		}
	}
	var sum float64
	for i, l := range logits {
		probs[i] = math.Exp((float64(l) - maxL) / temp)
		sum += probs[i]
	}
	logZ := math.Log(sum)
	logprob := func(i int) float32 { return float32((float64(logits[i])-maxL)/temp - logZ) }
	if p.Temperature == 0 {
		return best, logprob(best)
	}
	topP := p.TopP
	if topP == 0 {
		topP = 1
	}
	if topP >= 1 && p.TopK == 0 {
		u := rng.Float64() * sum
		for i, q := range probs {
			u -= q
			if u < 0 {
				return i, logprob(i)
			}
		}
		return best, logprob(best)
	}
	cand := nucleus(probs, sum, topP, p.TopK)
	var mass float64
	for _, i := range cand {
		mass += probs[i]
	}
	u := rng.Float64() * mass
	for _, i := range cand {
		u -= probs[i]
		if u < 0 {
			return i, logprob(i)
		}
	}
	return cand[0], logprob(cand[0])
}

// nucleus returns the indices of the smallest set of most probable tokens whose mass reaches
// topP of sum, cut to topK (when > 0), most probable first. It sorts only the tokens above a
// probability threshold, lowered until they hold enough mass, which is exact: every token of
// the nucleus is more probable than every token left out.
func nucleus(probs []float64, sum, topP float64, topK int) []int {
	need := topP * sum
	if topK > 0 && topP >= 1 {
		need = math.Inf(1)
	}
	var cand []int
	for thr := sum / float64(len(probs)) / 16; ; thr /= 16 {
		if thr < 1e-300 {
			thr = -1 // take every token
		}
		cand = cand[:0]
		var mass float64
		for i, q := range probs {
			if q > thr {
				cand = append(cand, i)
				mass += q
			}
		}
		if mass >= need || (topK > 0 && len(cand) >= topK) || len(cand) == len(probs) {
			break
		}
	}
	sort.Slice(cand, func(a, b int) bool {
		if probs[cand[a]] != probs[cand[b]] {
			return probs[cand[a]] > probs[cand[b]]
		}
		return cand[a] < cand[b]
	})
	if topK > 0 && len(cand) > topK {
		cand = cand[:topK]
		// As in transformers, top-p then applies to the distribution left by top-k.
		var kept float64
		for _, i := range cand {
			kept += probs[i]
		}
		need = topP * kept
	}
	if topP < 1 {
		var mass float64
		for k, i := range cand {
			mass += probs[i]
			if mass >= need {
				return cand[:k+1]
			}
		}
	}
	return cand
}
