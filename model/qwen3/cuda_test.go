package qwen3

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"ltecli/model/graph"
	"ltecli/ort"
	"ltecli/weights"
)

// TestCUDAMatchesCPU runs the engine on the CUDA plugin provider and compares it with the CPU:
// log-probabilities and entropies, every gradient tensor (blocked and not), and greedy decoding.
// It needs a GPU and the plugin (make setup-cuda): it runs only with LTECLI_TEST_CUDA=1, as
// scripts/gpu-check.sh does. TF32 matmuls on the GPU bound the agreement (about 1e-3). It
// does the same for bfloat16 products on the GPU against their emulation on the CPU.
func TestCUDAMatchesCPU(t *testing.T) {
	if os.Getenv("LTECLI_TEST_CUDA") == "" {
		t.Skip("set LTECLI_TEST_CUDA=1 on a GPU machine")
	}
	session := ort.DefaultSessionConfig()
	session.Provider = ort.CUDA
	checkDeviceAgainstCPU(t, Options{Session: session})
}

// TestDeviceCheckOnCPU runs TestCUDAMatchesCPU's comparison with the CPU in separate memory
// in place of the GPU, so that the check itself runs in every test run.
func TestDeviceCheckOnCPU(t *testing.T) {
	checkDeviceAgainstCPU(t, Options{SeparateMemory: true})
}

// checkDeviceAgainstCPU compares the engine with options dev (a device, compute types set
// by the check) with the CPU's, in float32 and with bfloat16 products.
func checkDeviceAgainstCPU(t *testing.T, dev Options) {
	cfg := Config{ModelType: "qwen3", VocabSize: 3000, HiddenSize: 256, IntermediateSize: 512, NumHiddenLayers: 3,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 64, RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, HiddenAct: "silu"}
	params, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(41, 42))
	for _, v := range params.Views {
		for i := range params.Slice(v) {
			if len(v.Shape) == 1 {
				params.Slice(v)[i] = float32(1 + 0.1*r.NormFloat64())
			} else {
				params.Slice(v)[i] = float32(0.05 * r.NormFloat64())
			}
		}
	}
	for _, tc := range []struct {
		compute                     graph.DType
		scoreTol, gradTol, logitTol float64
	}{{0, 1e-2, 2e-2, 1e-2}, {graph.BFloat16, 3e-2, 5e-2, 5e-2}} {
		t.Run(Precision{Compute: tc.compute}.String(), func(t *testing.T) {
			d := dev
			d.Compute = tc.compute
			checkAgainstCPU(t, cfg, params, rand.New(rand.NewPCG(43, 44)), d, tc.scoreTol, tc.gradTol, tc.logitTol)
		})
	}
}

// checkAgainstCPU compares the engine with options dev (whole layers, split, blocked) with the
// CPU's with dev's compute type.
func checkAgainstCPU(t *testing.T, cfg Config, params *weights.Store, r *rand.Rand, dev Options, scoreTol, gradTol, logitTol float64) {
	compute := dev.Compute
	b := RightPad([][]int{randomIDs(r, 40, cfg.VocabSize), randomIDs(r, 23, cfg.VocabSize), randomIDs(r, 31, cfg.VocabSize)})
	dLogp, dEnt := randomCotangents(r, b)
	cpu := New(cfg, params, Options{Compute: compute})
	defer cpu.Close()
	want, err := cpu.Score(b, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	wantGrads := params.ZerosLike()
	if err := cpu.ScoreVJP(b, 0.8, dLogp, dEnt, wantGrads); err != nil {
		t.Fatal(err)
	}
	split, blocked := dev, dev
	split.SplitLayers = true
	blocked.QueryBlock, blocked.HeadChunk = 8, 16
	for _, opts := range []Options{dev, split, blocked} {
		gpu := New(cfg, params, opts)
		got, err := gpu.Score(b, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range want.Logp {
			worst = max(worst, math.Abs(float64(got.Logp[i]-want.Logp[i])), math.Abs(float64(got.Entropy[i]-want.Entropy[i])))
		}
		t.Logf("%v blocks %d/%d, split %v: score: largest difference from the CPU %.2g", gpu.Precision(), opts.QueryBlock, opts.HeadChunk, opts.SplitLayers, worst)
		if worst > scoreTol {
			t.Errorf("score on the device differs from the CPU by %g", worst)
		}
		grads := params.ZerosLike()
		if err := gpu.ScoreVJP(b, 0.8, dLogp, dEnt, grads); err != nil {
			t.Fatal(err)
		}
		var worstRel float64
		for _, v := range params.Views {
			w, g := wantGrads.Slice(v), grads.Slice(v)
			var diff, norm float64
			for i := range w {
				diff += (float64(g[i]) - float64(w[i])) * (float64(g[i]) - float64(w[i]))
				norm += float64(w[i]) * float64(w[i])
			}
			rel := math.Sqrt(diff / max(norm, 1e-30))
			worstRel = max(worstRel, rel)
			if rel > gradTol {
				t.Errorf("%s: gradient on the device has relative error %g", v.Name, rel)
			}
		}
		t.Logf("%v blocks %d/%d, split %v: gradient: largest per-tensor relative error %.2g", gpu.Precision(), opts.QueryBlock, opts.HeadChunk, opts.SplitLayers, worstRel)
		gpu.Close()
	}

	// Decoding, teacher-forced with the CPU's greedy tokens so that a near tie cannot send the
	// two down different paths: the logits of every step agree.
	gpu := New(cfg, params, dev)
	defer gpu.Close()
	prompts := LeftPad([][]int{randomIDs(r, 9, cfg.VocabSize), randomIDs(r, 5, cfg.VocabSize)})
	decode := func(m *Model, forced [][]int64) ([][]float32, [][]int64) {
		logits, cache, err := m.Prefill(prompts)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { cache.Close() }()
		mask := slices.Clone(prompts.Mask)
		width := prompts.T
		steps := [][]float32{logits}
		var tokens [][]int64
		for s := 0; s < 12; s++ {
			next := make([]int64, prompts.B)
			for i := range next {
				row := logits[i*cfg.VocabSize : (i+1)*cfg.VocabSize]
				for j, v := range row {
					if v > row[next[i]] {
						next[i] = int64(j)
					}
				}
			}
			if forced != nil {
				next = forced[s]
			}
			tokens = append(tokens, next)
			grown := make([]int64, 0, prompts.B*(width+1))
			for i := 0; i < prompts.B; i++ {
				grown = append(append(grown, mask[i*width:(i+1)*width]...), 1)
			}
			mask, width = grown, width+1
			if logits, cache, err = m.Decode(next, mask, cache); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, logits)
		}
		return steps, tokens
	}
	wantSteps, tokens := decode(cpu, nil)
	gotSteps, _ := decode(gpu, tokens)
	var worst float64
	for s := range wantSteps {
		for i := range wantSteps[s] {
			worst = max(worst, math.Abs(float64(gotSteps[s][i]-wantSteps[s][i])))
		}
	}
	t.Logf("decode: largest logit difference from the CPU over %d steps %.2g", len(wantSteps), worst)
	if worst > logitTol {
		t.Errorf("decode logits on the device differ from the CPU by %g", worst)
	}
}
