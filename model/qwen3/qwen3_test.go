package qwen3

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"ltecli/model/graph"
	"ltecli/weights"
)

// tinyConfig is a small model with head_dim different from hidden/heads and grouped queries.
func tinyConfig(tied bool) Config {
	cfg := Config{ModelType: "qwen3", VocabSize: 37, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 6, RMSNormEps: 1e-6, RopeTheta: 10000,
		TieWordEmbeddings: tied, HiddenAct: "silu"}
	return cfg
}

// randomParams fills a store with a seeded random init (norm weights near 1), rounded through
// dtype as a checkpoint stored in it would be.
func randomParams(t *testing.T, cfg Config, seed uint64, dtype weights.DType) *weights.Store {
	t.Helper()
	s, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	for _, v := range s.Views {
		data := s.Slice(v)
		for i := range data {
			if len(v.Shape) == 1 {
				data[i] = float32(1 + 0.1*r.NormFloat64())
			} else {
				data[i] = float32(0.3 * r.NormFloat64())
			}
		}
		tensor := weights.FromFloat32(v.Name, v.Shape, data, dtype)
		if err := weights.DecodeFloat32(data, dtype, tensor.Data); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func randomIDs(r *rand.Rand, n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = r.IntN(vocab)
	}
	return ids
}

// randomCotangents returns N(0, 1) cotangents d_logp and d_entropy [B, T-1] for b's real next
// tokens, 0 at padded positions.
func randomCotangents(r *rand.Rand, b Batch) (dLogp, dEnt []float32) {
	n := b.B * (b.T - 1)
	dLogp, dEnt = make([]float32, n), make([]float32, n)
	for i := range dLogp {
		if b.Mask[(i/(b.T-1))*b.T+i%(b.T-1)+1] == 1 {
			dLogp[i], dEnt[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
	}
	return dLogp, dEnt
}

// checkGradsClose fails when a gradient of got differs from want's by more than rel times the
// largest |value| of want's tensor plus abs.
func checkGradsClose(t *testing.T, what string, want, got *weights.Store, rel, abs float64) {
	t.Helper()
	for _, v := range want.Views {
		w, g := want.Slice(v), got.Slice(v)
		var scale float64
		for _, x := range w {
			scale = max(scale, math.Abs(float64(x)))
		}
		for i := range w {
			if math.Abs(float64(g[i]-w[i])) > rel*scale+abs {
				t.Fatalf("%s: %s[%d] is %g, want %g", what, v.Name, i, g[i], w[i])
			}
		}
	}
}

// blocked makes the engine split attention into query blocks of 2 and the head into chunks of
// 3 tokens, so that tests on short sequences exercise the paths long sequences take.
var blocked = Options{QueryBlock: 2, HeadChunk: 3}

func TestScoreMatchesReference(t *testing.T) {
	for ci, tc := range []struct {
		tied bool
		opts Options
	}{{true, Options{}}, {false, Options{}}, {true, blocked}, {false, blocked}, {false, Options{SplitLayers: true}}} {
		tied := tc.tied
		cfg := tinyConfig(tied)
		params := randomParams(t, cfg, uint64(ci+1), weights.BF16)
		m := New(cfg, params, tc.opts)
		defer m.Close()
		ref := NewReference(cfg, params)
		r := rand.New(rand.NewPCG(5, uint64(ci)))
		seqs := [][]int{randomIDs(r, 9, cfg.VocabSize), randomIDs(r, 4, cfg.VocabSize), randomIDs(r, 7, cfg.VocabSize)}
		for _, temp := range []float64{1, 0.7} {
			out, err := m.Score(RightPad(seqs), temp)
			if err != nil {
				t.Fatalf("case %d: %v", ci, err)
			}
			for i, s := range seqs {
				wantLogp, wantEnt := ref.Score(s, temp)
				logp, ent := out.Row(i, len(s))
				for k := range wantLogp {
					if math.Abs(float64(logp[k])-wantLogp[k]) > 1e-4*(1+math.Abs(wantLogp[k])) || math.Abs(float64(ent[k])-wantEnt[k]) > 1e-4*(1+wantEnt[k]) {
						t.Fatalf("case %d (tied %v, T %g), seq %d pos %d: logp %g entropy %g, reference %g %g", ci, tied, temp, i, k, logp[k], ent[k], wantLogp[k], wantEnt[k])
					}
				}
			}
		}
	}
}

func TestScoreVJPMatchesFiniteDifferences(t *testing.T) {
	for _, tied := range []bool{false, true} {
		for _, opts := range []Options{{DType: graph.Float64}, {DType: graph.Float64, QueryBlock: 2, HeadChunk: 3}, {DType: graph.Float64, SplitLayers: true}} {
			testScoreVJP(t, tied, opts)
		}
	}
}

// TestScoreVJPFloat32MatchesFloat64 checks the float32 engine's gradient (the one training
// uses, blocked and not) against the float64 engine's to float32 rounding.
func TestScoreVJPFloat32MatchesFloat64(t *testing.T) {
	cfg := tinyConfig(true)
	params := randomParams(t, cfg, 8, weights.F32)
	r := rand.New(rand.NewPCG(13, 14))
	b := RightPad([][]int{randomIDs(r, 7, cfg.VocabSize), randomIDs(r, 3, cfg.VocabSize), randomIDs(r, 5, cfg.VocabSize)})
	dLogp, dEnt := randomCotangents(r, b)
	want := params.ZerosLike()
	m64 := New(cfg, params, Options{DType: graph.Float64})
	defer m64.Close()
	if err := m64.ScoreVJP(b, 0.9, dLogp, dEnt, want); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, blocked, {SplitLayers: true}} {
		m := New(cfg, params, opts)
		got := params.ZerosLike()
		if err := m.ScoreVJP(b, 0.9, dLogp, dEnt, got); err != nil {
			t.Fatal(err)
		}
		m.Close()
		checkGradsClose(t, fmt.Sprintf("%+v: float32 against float64", opts), want, got, 1e-4, 1e-6)
	}
}

// TestLayerGraphChoice checks which layer graphs a training step runs: the whole-layer graphs
// for short sequences, the split ones for blocked attention or when asked to.
func TestLayerGraphChoice(t *testing.T) {
	cfg := tinyConfig(false)
	params := randomParams(t, cfg, 4, weights.F32)
	r := rand.New(rand.NewPCG(3, 4))
	b := RightPad([][]int{randomIDs(r, 6, cfg.VocabSize), randomIDs(r, 4, cfg.VocabSize)})
	n := b.B * (b.T - 1)
	dLogp, dEnt := make([]float32, n), make([]float32, n)
	for i := range dLogp {
		dLogp[i] = 1
	}
	L := cfg.NumHiddenLayers
	for _, tc := range []struct {
		opts Options
		want map[string]int
	}{
		{Options{}, map[string]int{GraphLayer: 2 * L, GraphLayerVJP: L, GraphHead: 1, GraphHeadVJP: 1}},
		{Options{SplitLayers: true}, map[string]int{GraphQKV: 3 * L, GraphAttention: 3 * L, GraphLayerOut: 2 * L,
			GraphLayerOutVJP: L, GraphAttentionVJP: L, GraphQKVVJP: L, GraphHead: 1, GraphHeadVJP: 1}},
		{Options{QueryBlock: 3}, map[string]int{GraphQKV: 3 * L, GraphAttention: 3 * 2 * L, GraphLayerOut: 2 * L,
			GraphLayerOutVJP: L, GraphAttentionVJP: 2 * L, GraphQKVVJP: L, GraphHead: 1, GraphHeadVJP: 1}},
	} {
		tc.opts.Profile = &Profile{}
		m := New(cfg, params, tc.opts)
		if _, err := m.Score(b, 1); err != nil {
			t.Fatal(err)
		}
		if err := m.ScoreVJP(b, 1, dLogp, dEnt, params.ZerosLike()); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if !maps.Equal(tc.opts.Profile.Calls, tc.want) {
			t.Errorf("%+v: calls %v, want %v", tc.opts, tc.opts.Profile.Calls, tc.want)
		}
	}
}

func testScoreVJP(t *testing.T, tied bool, opts Options) {
	cfg := tinyConfig(tied)
	params := randomParams(t, cfg, 3, weights.F32)
	m := New(cfg, params, opts)
	defer m.Close()
	r := rand.New(rand.NewPCG(11, 12))
	seqs := [][]int{randomIDs(r, 6, cfg.VocabSize), randomIDs(r, 4, cfg.VocabSize)}
	b := RightPad(seqs)
	n := b.B * (b.T - 1)
	dLogp, dEnt := make([]float32, n), make([]float32, n)
	for i := range dLogp {
		if b.Mask[(i/(b.T-1))*b.T+i%(b.T-1)+1] == 1 { // padded positions carry no cotangent
			dLogp[i] = float32(r.NormFloat64())
			dEnt[i] = float32(r.NormFloat64())
		}
	}
	const temp = 0.8
	objective := func() float64 {
		out, err := m.Score(b, temp)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := range out.Logp {
			s += float64(dLogp[i])*float64(out.Logp[i]) + float64(dEnt[i])*float64(out.Entropy[i])
		}
		return s
	}
	grads := params.ZerosLike()
	if err := m.ScoreVJP(b, temp, dLogp, dEnt, grads); err != nil {
		t.Fatal(err)
	}
	// Float32 parameters limit the step; check several coordinates of every tensor.
	const h = 1e-3
	for _, v := range params.Views {
		data := params.Slice(v)
		g := grads.Slice(v)
		for k := 0; k < 3; k++ {
			i := r.IntN(len(data))
			orig := data[i]
			data[i] = orig + h
			up := objective()
			data[i] = orig - h
			down := objective()
			data[i] = orig
			fd := (up - down) / (float64(data[i]+h) - float64(data[i]-h))
			if math.Abs(fd-float64(g[i])) > 2e-3*(1+math.Abs(fd)) {
				t.Errorf("tied %v %+v: %s[%d]: gradient %g, finite difference %g", tied, opts, v.Name, i, g[i], fd)
			}
		}
	}
}

func greedyByRecompute(ref *Reference, prompt []int, steps int) []int {
	seq := append([]int(nil), prompt...)
	for i := 0; i < steps; i++ {
		logits := ref.Logits(seq)
		last := logits[len(logits)-1]
		best := 0
		for j, v := range last {
			if v > last[best] {
				best = j
			}
		}
		seq = append(seq, best)
	}
	return seq[len(prompt):]
}

// TestKVCacheGreedyAndPadding decodes greedily with the cache (blocked prefill, and long enough
// for the cache to grow twice) and compares with recomputing the reference forward.
func TestKVCacheGreedyAndPadding(t *testing.T) {
	for _, tc := range []struct {
		opts  Options
		steps int
	}{{Options{}, 6}, {blocked, 21}, {Options{SplitLayers: true}, 21}} {
		testKVCache(t, tc.opts, tc.steps)
	}
}

func testKVCache(t *testing.T, opts Options, steps int) {
	cfg := tinyConfig(true)
	params := randomParams(t, cfg, 21, weights.F32)
	m := New(cfg, params, opts)
	defer m.Close()
	ref := NewReference(cfg, params)
	r := rand.New(rand.NewPCG(2, 3))
	prompts := [][]int{randomIDs(r, 5, cfg.VocabSize), randomIDs(r, 2, cfg.VocabSize), randomIDs(r, 8, cfg.VocabSize)}
	b := LeftPad(prompts)
	logits, cache, err := m.Prefill(b)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]int, len(prompts))
	mask := append([]int64(nil), b.Mask...)
	width := b.T
	V := cfg.VocabSize
	for s := 0; s < steps; s++ {
		next := make([]int64, len(prompts))
		for i := range prompts {
			row := logits[i*V : (i+1)*V]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			got[i] = append(got[i], best)
			next[i] = int64(best)
		}
		if s == steps-1 {
			break
		}
		grown := make([]int64, 0, len(prompts)*(width+1))
		for i := range prompts {
			grown = append(grown, mask[i*width:(i+1)*width]...)
			grown = append(grown, 1)
		}
		mask, width = grown, width+1
		if logits, cache, err = m.Decode(next, mask, cache); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range prompts {
		want := greedyByRecompute(ref, p, steps)
		for k := range want {
			if got[i][k] != want[k] {
				t.Fatalf("prompt %d: cached greedy %v, recomputed %v", i, got[i], want)
			}
		}
	}
}

// TestSeparateMemoryMatchesShared runs score, score_vjp, prefill and decode with parameters
// and gradients in buffers of their own (the GPU's data movement: uploads when the store's
// generation changes, one gradient download per call) and checks the results equal the
// shared-memory ones bit for bit, before and after an in-place parameter change.
func TestSeparateMemoryMatchesShared(t *testing.T) {
	cfg := tinyConfig(true)
	params := randomParams(t, cfg, 31, weights.F32)
	shared := New(cfg, params, blocked)
	defer shared.Close()
	sepOpts := blocked
	sepOpts.SeparateMemory = true
	sep := New(cfg, params, sepOpts)
	defer sep.Close()
	r := rand.New(rand.NewPCG(17, 18))
	b := RightPad([][]int{randomIDs(r, 7, cfg.VocabSize), randomIDs(r, 4, cfg.VocabSize)})
	dLogp, dEnt := randomCotangents(r, b)
	prompts := LeftPad([][]int{randomIDs(r, 5, cfg.VocabSize), randomIDs(r, 3, cfg.VocabSize)})
	for round := 0; round < 2; round++ {
		if round == 1 {
			for i := range params.Data {
				params.Data[i] *= 0.9
			}
			params.Touch()
		}
		a, err := shared.Score(b, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sep.Score(b, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Logp, c.Logp) || !slices.Equal(a.Entropy, c.Entropy) {
			t.Fatalf("round %d: score differs with separate memory", round)
		}
		ga, gc := params.ZerosLike(), params.ZerosLike()
		if err := shared.ScoreVJP(b, 0.8, dLogp, dEnt, ga); err != nil {
			t.Fatal(err)
		}
		if err := sep.ScoreVJP(b, 0.8, dLogp, dEnt, gc); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ga.Data, gc.Data) {
			t.Fatalf("round %d: gradients differ with separate memory", round)
		}
		la, ca, err := shared.Prefill(prompts)
		if err != nil {
			t.Fatal(err)
		}
		lc, cc, err := sep.Prefill(prompts)
		if err != nil {
			t.Fatal(err)
		}
		mask := append(slices.Clone(prompts.Mask[:prompts.T]), 1)
		mask = append(append(mask, prompts.Mask[prompts.T:]...), 1)
		la2, _, err := shared.Decode([]int64{1, 2}, mask, ca)
		if err != nil {
			t.Fatal(err)
		}
		lc2, _, err := sep.Decode([]int64{1, 2}, mask, cc)
		if err != nil {
			t.Fatal(err)
		}
		ca.Close()
		cc.Close()
		if !slices.Equal(la, lc) || !slices.Equal(la2, lc2) {
			t.Fatalf("round %d: logits differ with separate memory", round)
		}
	}
}

// TestBF16Emulated runs the engine with bfloat16 products, emulated on the CPU, against
// float32: log-probabilities and gradients must move by bfloat16's rounding (so the rounding
// takes effect and survives graph optimisation) and by no more than its error; the whole-layer,
// split and blocked paths round at the same places, so they agree among themselves.
func TestBF16Emulated(t *testing.T) {
	cfg := tinyConfig(false)
	params := randomParams(t, cfg, 21, weights.F32)
	r := rand.New(rand.NewPCG(17, 18))
	b := RightPad([][]int{randomIDs(r, 8, cfg.VocabSize), randomIDs(r, 5, cfg.VocabSize)})
	dLogp, dEnt := randomCotangents(r, b)
	run := func(opts Options) (ScoreOutput, *weights.Store) {
		m := New(cfg, params, opts)
		defer m.Close()
		if p := m.Precision(); opts.Compute == graph.BFloat16 && p.String() != "bf16-emulated" {
			t.Fatalf("precision %v on the CPU", p)
		}
		out, err := m.Score(b, 0.9)
		if err != nil {
			t.Fatalf("%v: %v", m.Precision(), err)
		}
		grads := params.ZerosLike()
		if err := m.ScoreVJP(b, 0.9, dLogp, dEnt, grads); err != nil {
			t.Fatalf("%v: %v", m.Precision(), err)
		}
		return out, grads
	}
	// worst returns the largest |got - want| over 1 + |want| of the log-probabilities and over
	// the largest |want| of each parameter's gradient.
	worst := func(got, want ScoreOutput, grads, wantGrads *weights.Store) (logp, grad float64) {
		for i := range want.Logp {
			logp = max(logp, math.Abs(float64(got.Logp[i]-want.Logp[i]))/(1+math.Abs(float64(want.Logp[i]))))
		}
		for _, v := range params.Views {
			w, g := wantGrads.Slice(v), grads.Slice(v)
			var diff, scale float64
			for i := range w {
				diff = max(diff, math.Abs(float64(g[i]-w[i])))
				scale = max(scale, math.Abs(float64(w[i])))
			}
			grad = max(grad, diff/scale)
		}
		return logp, grad
	}
	f32, f32Grads := run(Options{})
	bf, bfGrads := run(Options{Compute: graph.BFloat16})
	if lp, gr := worst(bf, f32, bfGrads, f32Grads); lp < 1e-3 || lp > 3e-2 || gr < 1e-3 || gr > 8e-2 || math.IsNaN(gr) {
		t.Errorf("bfloat16 against float32: log-probabilities differ by %.2g, gradients by %.2g (want bfloat16's 1e-3..3e-2 and 1e-3..8e-2)", lp, gr)
	}
	// Split layers round at the same places. Blocked attention and head chunks sum products
	// rounded per block (as gradient accumulation over micro-batches does), so their gradients
	// move by bfloat16's rounding, not more.
	for _, tc := range []struct {
		opts    Options
		gradTol float64
	}{{Options{Compute: graph.BFloat16, SplitLayers: true}, 1e-4}, {Options{Compute: graph.BFloat16, QueryBlock: 2}, 3e-2}, {Options{Compute: graph.BFloat16, HeadChunk: 3}, 3e-2}} {
		got, grads := run(tc.opts)
		if lp, gr := worst(got, bf, grads, bfGrads); lp > 1e-5 || gr > tc.gradTol || math.IsNaN(gr) {
			t.Errorf("%+v against whole layers in bfloat16: log-probabilities differ by %.2g, gradients by %.2g", tc.opts, lp, gr)
		}
	}
}

// TestScoreVJPSumAddsMicroBatches checks ScoreVJPSum over three micro-batches (one with no
// cotangent at all) against the sum of their ScoreVJP gradients, for every path: whole and
// split layers, blocked attention and head, separate memory (the GPU's data movement) and
// float64.
func TestScoreVJPSumAddsMicroBatches(t *testing.T) {
	for _, tied := range []bool{true, false} {
		cfg := tinyConfig(tied)
		params := randomParams(t, cfg, 31, weights.F32)
		r := rand.New(rand.NewPCG(32, 33))
		var bs []Batch
		var dLogp, dEnt [][]float32
		for k, rows := range [][]int{{7, 3}, {5}, {6, 6, 2}} {
			seqs := make([][]int, len(rows))
			for i, n := range rows {
				seqs[i] = randomIDs(r, n, cfg.VocabSize)
			}
			b := RightPad(seqs)
			n := b.B * (b.T - 1)
			dl, de := make([]float32, n), make([]float32, n)
			for i := range dl {
				if k != 1 && b.Mask[(i/(b.T-1))*b.T+i%(b.T-1)+1] == 1 {
					dl[i], de[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
				}
			}
			bs, dLogp, dEnt = append(bs, b), append(dLogp, dl), append(dEnt, de)
		}
		for _, opts := range []Options{{}, {SplitLayers: true}, blocked, {SeparateMemory: true}, {SeparateMemory: true, SplitLayers: true}, {DType: graph.Float64}} {
			m := New(cfg, params, opts)
			want := params.ZerosLike()
			one := params.ZerosLike()
			for k := range bs {
				if err := m.ScoreVJP(bs[k], 0.9, dLogp[k], dEnt[k], one); err != nil {
					t.Fatal(err)
				}
				for i, v := range one.Data {
					want.Data[i] += v
				}
			}
			got := params.ZerosLike()
			for i := range got.Data {
				got.Data[i] = float32(i) // overwritten, not added to
			}
			if err := m.ScoreVJPSum(bs, 0.9, dLogp, dEnt, got); err != nil {
				t.Fatal(err)
			}
			m.Close()
			checkGradsClose(t, fmt.Sprintf("tied %v %+v: summed on the device against the sum of micro-batches", tied, opts), want, got, 1e-5, 1e-7)
		}
	}
}
