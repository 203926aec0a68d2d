package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"ltecli/ort"
)

// The gradient of an embedding lookup must add every repeated index: a parallel scatter with
// no atomics (ONNX Runtime's CPU ScatterND) loses updates at random when a batch is large.
func TestGatherGradientAddsRepeatedIndices(t *testing.T) {
	const rows, width, n = 8, 512, 8192
	g := New("embed")
	table := g.Input("table", Float32, D(rows), D(width))
	ids := g.Input("ids", Int64, D(n))
	g.Output("y", g.Gather(table, ids, 0))
	back, err := VJP(g, []string{"table"}, VJPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, back)
	r := rand.New(rand.NewPCG(21, 22))
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = int64(r.IntN(rows))
	}
	dy := make([]float32, n*width)
	for i := range dy {
		dy[i] = float32(r.NormFloat64())
	}
	want := make([]float64, rows*width)
	for i, id := range idx {
		for j := 0; j < width; j++ {
			want[int(id)*width+j] += float64(dy[i*width+j])
		}
	}
	for trial := 0; trial < 30; trial++ {
		out := run(t, s, []*ort.Tensor{ort.Zeros(ort.Float32, rows, width), ort.I64Tensor(idx, n), ort.F32Tensor(dy, n, width)}, back.Outputs(), nil)
		for i, w := range want {
			if got := float64(out[0].F32[i]); math.Abs(got-w) > 1e-3*(1+math.Abs(w)) {
				t.Fatalf("trial %d: d_table[%d] = %g, want %g", trial, i, got, w)
			}
		}
	}
}
