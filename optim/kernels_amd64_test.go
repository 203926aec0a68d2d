package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The assembly kernels must give the plain Go kernels' bits, or a run would depend on the
// machine it resumes on.

func TestAdamWAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this machine")
	}
	coeffs := []adamCoeffs{
		{decay: 1 - 1e-3*0.01, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001, stepSize: 1e-3, eps: 1e-8, gradScale: 1},
		{decay: 1, beta1: 0.5, oneMinusBeta1: 0.5, beta2: 0.9, oneMinusBeta2: 0.1, stepSize: 0.37, eps: 3.2e-10, gradScale: 0.013},
	}
	for i, c := range coeffs {
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 1000} {
			p, m, v, g := kernelInputs(uint64(i), n)
			p2, m2, v2 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
			adamW(p, m, v, g, c)
			adamWGeneric(p2, m2, v2, g, c)
			for name, pair := range map[string][2][]float32{"p": {p, p2}, "m": {m, m2}, "v": {v, v2}} {
				if j := sameBits(pair[0], pair[1]); j >= 0 {
					t.Errorf("case %d, n %d: %s[%d] = %g with AVX2, %g in Go", i, n, name, j, pair[0][j], pair[1][j])
				}
			}
		}
	}
}

func TestSumSquaresAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this machine")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for i, n := range []int{16, 32, 48, 4096, 65536} {
		s := make([]float32, n)
		fillNormal(rng, s, 1e3)
		if got, want := sumSquaresAVX2(s), sumSquares16(s); got != want {
			t.Errorf("case %d, n %d: %.17g with AVX2, %.17g in Go", i, n, got, want)
		}
	}
}

// kernelInputs returns n parameters, moments and gradients that mix ordinary values with
// zeros, tiny and huge gradients.
func kernelInputs(seed uint64, n int) (p, m, v, g []float32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	p, m, v, g = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	fillNormal(rng, p, 1)
	fillNormal(rng, m, 1e-2)
	for i := range g {
		g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-25)))
		v[i] = float32(math.Abs(rng.NormFloat64()) * 1e-4)
		if i%11 == 3 {
			g[i], m[i], v[i] = 0, 0, 0
		}
	}
	return p, m, v, g
}
