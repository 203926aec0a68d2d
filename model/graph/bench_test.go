package graph

import (
	"math/rand/v2"
	"testing"

	"ltecli/ort"
)

// The benchmarked block: hidden 512, 8 heads, SwiGLU 1536, on batch 4 × seq 256, float32.
var benchBlock = blockConfig{hidden: 512, heads: 8, ffn: 1536, dt: Float32}

var benchDims = map[string]int64{"batch": 4, "seq": 256}

// benchInputs returns random inputs for g's inputs.
func benchInputs(g *Graph) []*ort.Tensor {
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]*ort.Tensor, len(g.inputs))
	for i, v := range g.inputs {
		shape, _ := bind(v.shape, benchDims)
		in[i] = randomTensor(r, v.dtype, shape, -0.05, 0.05)
	}
	return in
}

func benchmarkRun(b *testing.B, g *Graph, inputs []*ort.Tensor) {
	s := session(b, g)
	slots := make([]*ort.Tensor, len(g.outputs))
	for i, o := range g.outputs {
		shape, _ := bind(o.shape, benchDims)
		slots[i] = ort.Zeros(o.dtype, shape...)
	}
	if _, err := s.Run(inputs, slots); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Run(inputs, slots); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransformerBlockForward runs the block's forward graph.
func BenchmarkTransformerBlockForward(b *testing.B) {
	g := New("block")
	buildBlock(g, benchBlock)
	benchmarkRun(b, g, benchInputs(g))
}

// BenchmarkTransformerBlockBackward runs the block's VJP graph (forward recomputation
// included) for the gradients of x and every parameter.
func BenchmarkTransformerBlockBackward(b *testing.B) {
	g := New("block")
	buildBlock(g, benchBlock)
	bg, err := VJP(g, g.InputNames(), VJPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRun(b, bg, benchInputs(bg))
}
