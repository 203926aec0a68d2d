package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"ltecli/weights"
)

// testSpecs is a small model layout: matrices, an embedding, norm vectors, a bias and a
// scalar, with sizes that leave vector-kernel tails.
var testSpecs = []weights.Spec{
	{Name: "embed.weight", Shape: []int64{13, 8}},
	{Name: "layers.0.norm.weight", Shape: []int64{8}},
	{Name: "layers.0.attn.q.weight", Shape: []int64{8, 8}},
	{Name: "layers.0.attn.q.bias", Shape: []int64{8}},
	{Name: "layers.0.mlp.up.weight", Shape: []int64{21, 8}},
	{Name: "layers.0.mlp.down.weight", Shape: []int64{8, 21}},
	{Name: "final_norm.weight", Shape: []int64{8}},
	{Name: "logit_scale", Shape: []int64{}},
	{Name: "lm_head.weight", Shape: []int64{13, 8}},
}

func newStore(t testing.TB, specs []weights.Spec) *weights.Store {
	t.Helper()
	s, err := weights.NewStore(specs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fillNormal sets every value of data to a normal draw times std.
func fillNormal(rng *rand.Rand, data []float32, std float64) {
	for i := range data {
		data[i] = float32(rng.NormFloat64() * std)
	}
}

// sameBits reports the first index where a and b differ bitwise, or -1.
func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// toFloat64 converts a float32 slice.
func toFloat64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = float64(x)
	}
	return out
}
