package graph_test

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"ltecli/model/graph"
	"ltecli/model/qwen3"
	"ltecli/ort"
)

// TestCUDAModelGraphs runs the Qwen3 engine graphs (qwen3.EngineGraphs) on the CUDA plugin
// provider with every input uploaded to the GPU and every output left there until the end
// (the engine's way), and on the CPU with Go tensors, and compares the outputs. It runs only with
// LTECLI_TEST_CUDA=1 on a GPU machine (scripts/gpu-check.sh); then a missing plugin or GPU is
// a failure. The CPU path of the same code runs in every test run through the CPU device.
func TestCUDAModelGraphs(t *testing.T) {
	if os.Getenv("LTECLI_TEST_CUDA") != "1" {
		t.Skip("set LTECLI_TEST_CUDA=1 on a GPU machine")
	}
	gpu, err := ort.OpenDevice(ort.SessionConfig{Provider: ort.CUDA})
	if err != nil {
		t.Fatal(err)
	}
	checkModelGraphsOn(t, gpu, qwen3.Precision{}, qwen3.Precision{}, 2e-2)
	// bfloat16 products on the GPU against their emulation on the CPU.
	checkModelGraphsOn(t, gpu, qwen3.Precision{Compute: graph.BFloat16}, qwen3.Precision{Compute: graph.BFloat16, Emulate: true}, 2e-2)
}

// TestModelGraphsOnCPUDevice runs the same comparison with the CPU device in place of the GPU:
// values uploaded to it and RunValues against Go tensors and Run.
func TestModelGraphsOnCPUDevice(t *testing.T) {
	cpu, err := ort.OpenDevice(ort.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	checkModelGraphsOn(t, cpu, qwen3.Precision{}, qwen3.Precision{}, 1e-5)
	emulated := qwen3.Precision{Compute: graph.BFloat16, Emulate: true}
	checkModelGraphsOn(t, cpu, emulated, emulated, 1e-5)
}

// checkModelGraphsOn compares every model graph's outputs on dev (device values, graphs of
// precision devPrec) with the CPU (Go tensors, graphs of hostPrec), as max |difference| over
// max |CPU value| per output, which must stay under tol.
func checkModelGraphsOn(t *testing.T, dev *ort.Device, devPrec, hostPrec qwen3.Precision, tol float64) {
	dims := map[string]int64{"batch": 2, "seq": 5, "queries": 3, "keys": 5, "tokens": 7, "cache": 6, "extra": 2, "rows": 2}
	cfg := smallConfig()
	graphs, err := modelGraphs(cfg, devPrec)
	if err != nil {
		t.Fatal(err)
	}
	hostGraphs, err := modelGraphs(cfg, hostPrec)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range qwen3.EngineGraphs {
		g := graphs[name]
		model, err := g.Encode()
		if err != nil {
			t.Fatal(err)
		}
		hostModel, err := hostGraphs[name].Encode()
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, uint64(len(name))))
		inputs := make([]*ort.Tensor, len(g.Inputs()))
		for i, in := range g.Inputs() {
			inputs[i] = randomInput(r, in, dims, cfg.VocabSize)
		}
		host, err := ort.NewSession(hostModel, g.InputNames(), g.OutputNames(), ort.DefaultSessionConfig())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := host.Run(inputs, nil)
		host.Close()
		if err != nil {
			t.Fatalf("%s on the CPU: %v", name, err)
		}
		cfgDev := ort.DefaultSessionConfig()
		cfgDev.Provider = dev.Provider()
		if dev.Provider() != ort.CPU {
			// Informational: ONNX Runtime may keep small shape computations on the CPU.
			strict := cfgDev
			strict.NoCPUFallback = true
			if s, err := dev.NewSession(model, g.InputNames(), g.OutputNames(), strict); err != nil {
				t.Logf("%s %v: not every node runs on %s: %v", name, devPrec, dev.Provider(), err)
			} else {
				t.Logf("%s %v: every node runs on %s", name, devPrec, dev.Provider())
				s.Close()
			}
		}
		s, err := dev.NewSession(model, g.InputNames(), g.OutputNames(), cfgDev)
		if err != nil {
			t.Fatalf("%s %v on %s: %v", name, devPrec, dev.Provider(), err)
		}
		vals := make([]*ort.Value, len(inputs))
		for i, in := range inputs {
			if vals[i], err = dev.Upload(in); err != nil {
				t.Fatal(err)
			}
		}
		outs, err := s.RunValues(vals, nil)
		if err != nil {
			t.Fatalf("%s %v on %s: %v", name, devPrec, dev.Provider(), err)
		}
		for k, o := range outs {
			got := ort.Zeros(o.DType(), o.Shape()...)
			if err := o.CopyTo(got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape, want[k].Shape) {
				t.Errorf("%s %s: shape %v, want %v", name, g.OutputNames()[k], got.Shape, want[k].Shape)
				continue
			}
			if e := relErr(got.F32, want[k].F32); e > tol || math.IsNaN(e) {
				t.Errorf("%s %v %s: error %.3g over the largest value (tolerance %.0e)", name, devPrec, g.OutputNames()[k], e, tol)
			}
			o.Close()
		}
		for _, v := range vals {
			v.Close()
		}
		s.Close()
	}
}

// randomInput makes a tensor for an engine graph input: indices in range (targets below
// vocab, query_index the last keys, key_index 0..n-1, slot the last cache position, rows of
// the batch), key masks of ones but for a pad at the start of row 1, floats N(0, 0.5²), a
// temperature of 0.8.
func randomInput(r *rand.Rand, in *graph.Value, dims map[string]int64, vocab int) *ort.Tensor {
	shape := make([]int64, in.Rank())
	for i, d := range in.Shape() {
		if d.IsStatic() {
			shape[i] = d.Size
		} else {
			shape[i] = dimSize(d.Name, dims)
		}
	}
	n := ort.NumElements(shape)
	ints := func(f func(i int64) int64) *ort.Tensor {
		x := make([]int64, n)
		for i := range x {
			x[i] = f(int64(i))
		}
		return ort.I64Tensor(x, shape...)
	}
	switch in.Name() {
	case "temperature":
		return ort.F32Tensor([]float32{0.8}, shape...)
	case "key_mask":
		return ints(func(i int64) int64 {
			if i == shape[1] {
				return 0
			}
			return 1
		})
	case "query_index":
		return ints(func(i int64) int64 { return dims["keys"] - int64(n) + i })
	case "key_index":
		return ints(func(i int64) int64 { return i })
	case "targets":
		return ints(func(int64) int64 { return int64(r.IntN(vocab)) })
	case "slot":
		return ints(func(int64) int64 { return dims["cache"] - 1 })
	case "rows":
		return ints(func(i int64) int64 { return (int64(n) - 1 - i) % dims["batch"] })
	case "positions":
		return ints(func(i int64) int64 { return i % shape[len(shape)-1] })
	}
	if in.DType() != graph.Float32 {
		panic("no random values for input " + in.String())
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.5 * r.NormFloat64())
	}
	return ort.F32Tensor(x, shape...)
}

// dimSize evaluates a symbolic dim of the model graphs: a name in dims, or name+k / name-k.
func dimSize(name string, dims map[string]int64) int64 {
	if n, ok := dims[name]; ok {
		return n
	}
	m := regexp.MustCompile(`^([a-z]+)([+-][0-9]+)$`).FindStringSubmatch(name)
	if m == nil {
		panic("no size for the symbolic dim " + name)
	}
	k, _ := strconv.ParseInt(m[2], 10, 64)
	return dims[m[1]] + k
}

// relErr is max |got - want| over max |want|.
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}
