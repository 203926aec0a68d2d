package generate

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
)

func tinyModel(t *testing.T) *qwen3.Model {
	t.Helper()
	cfg := qwen3.Config{ModelType: "qwen3", VocabSize: 29, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 4, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, HiddenAct: "silu"}
	s, err := qwen3test.Store(cfg, 1, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := qwen3.New(cfg, s, qwen3.Options{})
	t.Cleanup(func() { m.Close() })
	return m
}

func TestGenerateDeterministicAndIndependentOfBatching(t *testing.T) {
	m := tinyModel(t)
	prompts := [][]int{{1, 2, 3}, {4}, {5, 6, 7, 8, 9}}
	p := Params{N: 3, MaxNewTokens: 7, Temperature: 1, TopP: 0.9, TopK: 10, Seed: 42, StopIDs: []int{0, 28}}
	a, err := Generate(m, 29, prompts, p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(m, 29, prompts, p)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different samples")
	}
	p.MaxBatch = 1
	c, _ := Generate(m, 29, prompts, p)
	for i := range a {
		if !reflect.DeepEqual(a[i].IDs, c[i].IDs) {
			t.Fatalf("sample %d differs when prompts are generated one at a time: %v vs %v", i, a[i].IDs, c[i].IDs)
		}
	}
	if len(a) != 9 || a[4].Prompt != 1 || a[4].Index != 1 {
		t.Fatalf("ordering: %d samples, sample 4 = prompt %d index %d", len(a), a[4].Prompt, a[4].Index)
	}
	stops := 0
	for i, s := range a {
		if len(s.IDs) != len(s.Logprobs) || (s.FinishReason == FinishLength) != (len(s.IDs) == 7) {
			t.Fatalf("sample %d inconsistent: %+v", i, s)
		}
		if s.FinishReason == FinishStop {
			stops++
		}
		for _, lp := range s.Logprobs {
			if lp > 0 || math.IsNaN(float64(lp)) {
				t.Fatalf("sample %d: log-prob %g", i, lp)
			}
		}
	}
	p.Seed = 43
	d, _ := Generate(m, 29, prompts, p)
	if reflect.DeepEqual(a, d) {
		t.Error("different seeds gave identical samples")
	}
}

func TestGreedyMatchesReferenceLogprobs(t *testing.T) {
	m := tinyModel(t)
	ref := qwen3.NewReference(m.Config, m.Params)
	prompt := []int{3, 1, 4, 1, 5}
	got, err := Generate(m, 29, [][]int{prompt}, Params{N: 2, MaxNewTokens: 5, Temperature: 0})
	if err != nil {
		t.Fatal(err)
	}
	seq := append([]int(nil), prompt...)
	for k, id := range got[0].IDs {
		logits := ref.Logits(seq)
		lsm := qwen3.LogSoftmax(logits[len(logits)-1], 1)
		best := 0
		for j := range lsm {
			if lsm[j] > lsm[best] {
				best = j
			}
		}
		if id != best || math.Abs(float64(got[0].Logprobs[k])-lsm[best]) > 1e-4 {
			t.Fatalf("token %d: %d (logp %g), reference %d (%g)", k, id, got[0].Logprobs[k], best, lsm[best])
		}
		seq = append(seq, id)
	}
	if !reflect.DeepEqual(got[0].IDs, got[1].IDs) {
		t.Error("greedy samples of one prompt differ")
	}
}

func TestNucleusIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for c := 0; c < 200; c++ {
		n := 2 + r.IntN(300)
		probs := make([]float64, n)
		var sum float64
		for i := range probs {
			probs[i] = math.Exp(4 * r.NormFloat64())
			sum += probs[i]
		}
		topP := r.Float64()
		topK := 0
		if c%2 == 0 {
			topK = 1 + r.IntN(n)
		}
		got := nucleus(probs, sum, topP, topK)
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool {
			return probs[idx[a]] > probs[idx[b]] || (probs[idx[a]] == probs[idx[b]] && idx[a] < idx[b])
		})
		if topK > 0 && topK < n {
			idx = idx[:topK]
		}
		var kept float64
		for _, i := range idx {
			kept += probs[i]
		}
		var want []int
		var mass float64
		for _, i := range idx {
			want = append(want, i)
			mass += probs[i]
			if mass >= topP*kept {
				break
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d (n %d, top-p %g, top-k %d): %v, want %v", c, n, topP, topK, got, want)
		}
	}
}

// TestSeedsReproduceOnePromptAlone: a prompt generated alone with Seeds = {PromptSeed(seed, i)}
// draws the same tokens as prompt i of a call with Seed = seed, and with one sample per row and
// Seeds[r] = PromptSeed(seed, i)+j, row r draws sample j's tokens: the seed carried by an HTTP
// request is enough to reproduce a sample.
func TestSeedsReproduceOnePromptAlone(t *testing.T) {
	m := tinyModel(t)
	prompts := [][]int{{1, 2, 3}, {4}, {5, 6, 7, 8, 9}}
	p := Params{N: 3, MaxNewTokens: 7, Temperature: 1, Seed: 7, StopIDs: []int{0, 28}}
	all, err := Generate(m, 29, prompts, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		one := p
		one.Seeds = []uint64{PromptSeed(p.Seed, i)}
		got, err := Generate(m, 29, prompts[i:i+1], one)
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if want := all[i*p.N+j]; !reflect.DeepEqual(got[j].IDs, want.IDs) || got[j].StopID != want.StopID {
				t.Errorf("prompt %d sample %d alone: %v stop %d, in the batch %v stop %d", i, j, got[j].IDs, got[j].StopID, want.IDs, want.StopID)
			}
		}
		rows := p
		rows.N = 1
		rows.Seeds = []uint64{PromptSeed(p.Seed, i), PromptSeed(p.Seed, i) + 1, PromptSeed(p.Seed, i) + 2}
		got, err = Generate(m, 29, [][]int{prompts[i], prompts[i], prompts[i]}, rows)
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if want := all[i*p.N+j]; !reflect.DeepEqual(got[j].IDs, want.IDs) {
				t.Errorf("prompt %d sample %d as a row of its own: %v, want %v", i, j, got[j].IDs, want.IDs)
			}
		}
	}
	if _, err := Generate(m, 29, prompts, Params{N: 1, MaxNewTokens: 2, Seeds: []uint64{1}}); err == nil {
		t.Error("one seed for three prompts was accepted")
	}
	if s := PromptSeed(^uint64(0), 1<<40); s >= 1<<62 {
		t.Errorf("PromptSeed %d is not below 2^62", s)
	}
}
