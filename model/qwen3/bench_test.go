package qwen3

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"ltecli/model/graph"
	"ltecli/ort"
	"ltecli/weights"
)

// The benchmarks run the 103M model below on the CPU. LTECLI_BENCH_MODEL=0.6b runs a
// Qwen3-0.6B-shaped model instead, and LTECLI_BENCH_PROVIDER=cuda runs on the GPU (the check
// of scripts/gpu-check.sh).

// midConfig is the benchmark model: 103M parameters, tied, Qwen3's vocabulary.
func midConfig() Config {
	if os.Getenv("LTECLI_BENCH_MODEL") == "0.6b" {
		return Config{ModelType: "qwen3", VocabSize: 151936, HiddenSize: 1024, IntermediateSize: 3072, NumHiddenLayers: 28,
			NumAttentionHeads: 16, NumKeyValueHeads: 8, HeadDim: 128, RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, HiddenAct: "silu"}
	}
	return Config{ModelType: "qwen3", VocabSize: 151936, HiddenSize: 512, IntermediateSize: 1536, NumHiddenLayers: 8,
		NumAttentionHeads: 8, NumKeyValueHeads: 4, HeadDim: 64, RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, HiddenAct: "silu"}
}

// benchOptions are the engine options of the benchmarks: the provider of
// LTECLI_BENCH_PROVIDER, a per-graph profile with LTECLI_PROFILE=1, split layer graphs with
// LTECLI_BENCH_SPLIT=1 (Options.SplitLayers) and bfloat16 products with
// LTECLI_BENCH_COMPUTE=bf16 (emulated on the CPU).
func benchOptions() Options {
	var opts Options
	if p := os.Getenv("LTECLI_BENCH_PROVIDER"); p != "" {
		opts.Session = ort.DefaultSessionConfig()
		opts.Session.Provider = ort.Provider(p)
	}
	if os.Getenv("LTECLI_PROFILE") != "" {
		opts.Profile = &Profile{}
	}
	opts.SplitLayers = os.Getenv("LTECLI_BENCH_SPLIT") == "1"
	if os.Getenv("LTECLI_BENCH_COMPUTE") == "bf16" {
		opts.Compute = graph.BFloat16
	}
	return opts
}

func midModel(b *testing.B) *Model {
	b.Helper()
	cfg := midConfig()
	s, err := weights.NewStore(cfg.ParamSpecs())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range s.Views {
		data := s.Slice(v)
		for i := range data {
			if len(v.Shape) == 1 {
				data[i] = 1
			} else {
				data[i] = float32(0.02 * r.NormFloat64())
			}
		}
	}
	m := New(cfg, s, benchOptions())
	b.Cleanup(func() { m.Close() })
	return m
}

func randomBatch(r *rand.Rand, rows, length, vocab int) Batch {
	seqs := make([][]int, rows)
	for i := range seqs {
		seqs[i] = randomIDs(r, length, vocab)
	}
	return RightPad(seqs)
}

// resetPeakRSS resets the process's peak resident memory (VmHWM), so that each benchmark
// reports its own peak (Linux: writing 5 to clear_refs).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reports the process's peak resident memory in MiB (VmHWM).
func peakRSS(b *testing.B) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				b.ReportMetric(kb/1024, "peak-MiB")
			}
		}
	}
}

// benchTrain measures score + score_vjp (the work of one training micro-batch: the forward
// pass for the loss, then the backward pass) on rows x length tokens of the 103M model.
func benchTrain(b *testing.B, rows, length int) {
	m := midModel(b)
	bt := randomBatch(rand.New(rand.NewPCG(3, 4)), rows, length, m.Config.VocabSize)
	n := bt.B * (bt.T - 1)
	dLogp, dEnt := make([]float32, n), make([]float32, n)
	for i := range dLogp {
		dLogp[i] = -1 / float32(n)
	}
	grads := m.Params.ZerosLike()
	runtime.GC()
	resetPeakRSS()
	if _, err := m.Score(bt, 1); err != nil { // build sessions outside the timing
		b.Fatal(err)
	}
	if err := m.ScoreVJP(bt, 1, dLogp, dEnt, grads); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Score(bt, 1); err != nil {
			b.Fatal(err)
		}
		if err := m.ScoreVJP(bt, 1, dLogp, dEnt, grads); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*bt.B*bt.T)/b.Elapsed().Seconds(), "train-tok/s")
	peakRSS(b)
	if m.opts.Profile != nil {
		b.Logf("time by graph (warm-up included):\n%s", m.opts.Profile)
	}
}

// benchTrainSum measures an optimizer step's work over micro micro-batches of rows x length:
// score on each, then one score_vjp sum over them (the gradient crosses from a GPU once).
func benchTrainSum(b *testing.B, micro, rows, length int) {
	m := midModel(b)
	r := rand.New(rand.NewPCG(3, 4))
	bs := make([]Batch, micro)
	dLogp, dEnt := make([][]float32, micro), make([][]float32, micro)
	for k := range bs {
		bs[k] = randomBatch(r, rows, length, m.Config.VocabSize)
		n := rows * (length - 1)
		dLogp[k], dEnt[k] = make([]float32, n), make([]float32, n)
		for i := range dLogp[k] {
			dLogp[k][i] = -1 / float32(n*micro)
		}
	}
	grads := m.Params.ZerosLike()
	step := func() {
		for _, bt := range bs {
			if _, err := m.Score(bt, 1); err != nil {
				b.Fatal(err)
			}
		}
		if err := m.ScoreVJPSum(bs, 1, dLogp, dEnt, grads); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	resetPeakRSS()
	step() // build sessions outside the timing
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(b.N*micro*rows*length)/b.Elapsed().Seconds(), "train-tok/s")
	peakRSS(b)
	if m.opts.Profile != nil {
		b.Logf("time by graph (warm-up included):\n%s", m.opts.Profile)
	}
}

// BenchmarkTrainStep512x4 is an optimizer step over 4 micro-batches of 4 x 512 tokens: the
// gradient is summed where it is computed and comes back once (on a GPU, against once per
// micro-batch in BenchmarkTrainStep512).
func BenchmarkTrainStep512x4(b *testing.B) { benchTrainSum(b, 4, 4, 512) }

// BenchmarkTrainStep is score + score_vjp on 4 x 256 tokens (...512 on 4 x 512, the GPU
// check's shape); ...Long on 1 x 2048 and ...Paper on 1 x 8192 (the paper's response length).
func BenchmarkTrainStep(b *testing.B)      { benchTrain(b, 4, 256) }
func BenchmarkTrainStep512(b *testing.B)   { benchTrain(b, 4, 512) }
func BenchmarkTrainStepLong(b *testing.B)  { benchTrain(b, 1, 2048) }
func BenchmarkTrainStepPaper(b *testing.B) { benchTrain(b, 1, 8192) }

// BenchmarkSetup is the time from parameters in memory to a model ready for its first
// training step: building and encoding every engine graph and creating its session.
func BenchmarkSetup(b *testing.B) {
	cfg := midConfig()
	params := midModel(b).Params
	for i := 0; i < b.N; i++ {
		m := New(cfg, params, benchOptions())
		if err := m.Prepare(); err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/setup")
}

// BenchmarkPrefill runs 16 prompts of 64 tokens.
func BenchmarkPrefill(b *testing.B) {
	m := midModel(b)
	r := rand.New(rand.NewPCG(5, 6))
	seqs := make([][]int, 16)
	for i := range seqs {
		seqs[i] = randomIDs(r, 64, m.Config.VocabSize)
	}
	bt := LeftPad(seqs)
	runtime.GC()
	resetPeakRSS()
	if _, _, err := m.Prefill(bt); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := m.Prefill(bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*16*64)/b.Elapsed().Seconds(), "prefill-tok/s")
	peakRSS(b)
}

func benchDecode(b *testing.B, rows int) {
	m := midModel(b)
	r := rand.New(rand.NewPCG(7, 8))
	seqs := make([][]int, rows)
	for i := range seqs {
		seqs[i] = randomIDs(r, 64, m.Config.VocabSize)
	}
	bt := LeftPad(seqs)
	const newTokens = 32
	run := func() {
		_, cache, err := m.Prefill(bt)
		if err != nil {
			b.Fatal(err)
		}
		mask := append([]int64(nil), bt.Mask...)
		width := bt.T
		ids := make([]int64, rows)
		for s := 0; s < newTokens; s++ {
			grown := make([]int64, 0, rows*(width+1))
			for i := 0; i < rows; i++ {
				grown = append(append(grown, mask[i*width:(i+1)*width]...), 1)
				ids[i] = int64(r.IntN(m.Config.VocabSize))
			}
			mask, width = grown, width+1
			if _, cache, err = m.Decode(ids, mask, cache); err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.GC()
	resetPeakRSS()
	run()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.ReportMetric(float64(b.N*rows*newTokens)/b.Elapsed().Seconds(), "decode-tok/s")
	peakRSS(b)
}

// BenchmarkDecode1 and BenchmarkDecode16 decode 32 tokens after 64-token prompts (the prefill
// included in the time).
func BenchmarkDecode1(b *testing.B)  { benchDecode(b, 1) }
func BenchmarkDecode16(b *testing.B) { benchDecode(b, 16) }

// BenchmarkGEMM measures ONNX Runtime's fp32 MatMul on 1024x1024 matrices, the machine's
// compute ceiling for the numbers above.
func BenchmarkGEMM(b *testing.B) {
	const n = 1024
	g := graph.New("gemm")
	x := g.Input("a", graph.Float32, graph.D(n), graph.D(n))
	y := g.Input("b", graph.Float32, graph.D(n), graph.D(n))
	g.Output("c", g.MatMul(x, y))
	data, err := g.Encode()
	if err != nil {
		b.Fatal(err)
	}
	s, err := ort.NewSession(data, g.InputNames(), g.OutputNames(), ort.DefaultSessionConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%7) / 7
	}
	in := []*ort.Tensor{ort.F32Tensor(a, n, n), ort.F32Tensor(a, n, n)}
	out := []*ort.Tensor{ort.Zeros(ort.Float32, n, n)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestMain runs the package's tests and benchmarks with huge pages for ONNX Runtime's
// buffers, as ltecli runs (ort.UseHugePages).
func TestMain(m *testing.M) {
	ort.UseHugePages()
	os.Exit(m.Run())
}
