package qwen3

import (
	"math"
	"math/rand/v2"
	"testing"

	"ltecli/model/graph"
	"ltecli/ort"
)

// TestHeadVJPMatchesAutodiff checks the hand-written head_vjp against graph.VJP of the head
// graph (itself checked by finite differences rule by rule), in float64 on random inputs with
// a temperature other than 1.
func TestHeadVJPMatchesAutodiff(t *testing.T) {
	cfg := tinyConfig(false)
	fwd, err := BuildHead(cfg, Precision{DType: graph.Float64})
	if err != nil {
		t.Fatal(err)
	}
	auto, err := graph.VJP(fwd, []string{inHidden, "final_norm", "head"}, graph.VJPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	manual, err := BuildHeadVJP(cfg, Precision{DType: graph.Float64})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	const N = 5
	H, V := cfg.HiddenSize, cfg.VocabSize
	normal := func(n int, mean, std float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = mean + std*r.NormFloat64()
		}
		return x
	}
	targets := make([]int64, N)
	for i := range targets {
		targets[i] = int64(r.IntN(V))
	}
	in := []*ort.Tensor{
		ort.F64Tensor(normal(N*H, 0, 1), N, int64(H)), ort.I64Tensor(targets, N), ort.F64Tensor([]float64{0.7}),
		ort.F64Tensor(normal(H, 1, 0.1), int64(H)), ort.F64Tensor(normal(V*H, 0, 0.5), int64(V), int64(H)),
		ort.F64Tensor(normal(N, 0, 1), N), ort.F64Tensor(normal(N, 0, 1), N),
	}
	run := func(g *graph.Graph, in []*ort.Tensor) []*ort.Tensor {
		data, err := g.Encode()
		if err != nil {
			t.Fatal(err)
		}
		s, err := ort.NewSession(data, g.InputNames(), g.OutputNames(), ort.DefaultSessionConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Run(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The hand-written graph adds its head gradient to d_head_acc: zeros here.
	want, got := run(auto, in), run(manual, append(in, ort.Zeros(ort.Float64, int64(V), int64(H))))
	for k, name := range manual.OutputNames() {
		if auto.OutputNames()[k] != name {
			t.Fatalf("output %d: %s, autodiff has %s", k, name, auto.OutputNames()[k])
		}
		for i := range want[k].F64 {
			if d := math.Abs(got[k].F64[i] - want[k].F64[i]); d > 1e-10*(1+math.Abs(want[k].F64[i])) {
				t.Fatalf("%s[%d]: hand-written %g, autodiff %g", name, i, got[k].F64[i], want[k].F64[i])
			}
		}
	}
}
