package optim

import (
	"math"
	"testing"
)

func TestSumSquares(t *testing.T) {
	cases := []struct {
		s    []float32
		want float64
	}{
		{s: nil, want: 0},
		{s: []float32{3, 4}, want: 25},
		{s: []float32{1e30, -1e30}, want: 2 * float64(float32(1e30)) * float64(float32(1e30))}, // past float32's range
		{s: []float32{float32(math.Inf(-1))}, want: math.Inf(1)},
	}
	for i := range 40 { // 0.5 * (0..39) squared: lengths past the 16-lane body
		var s []float32
		var want float64
		for j := range i {
			s = append(s, 0.5*float32(j))
			want += 0.25 * float64(j*j)
		}
		cases = append(cases, struct {
			s    []float32
			want float64
		}{s: s, want: want})
	}
	for i, c := range cases {
		if got := sumSquares(c.s); got != c.want && math.Abs(got-c.want) > 1e-15*c.want {
			t.Errorf("case %d: sumSquares(%d values) = %g, want %g", i, len(c.s), got, c.want)
		}
	}
	if got := sumSquares([]float32{1, float32(math.NaN())}); !math.IsNaN(got) {
		t.Errorf("sumSquares with a NaN = %g, want NaN", got)
	}
}

func TestScale(t *testing.T) {
	s := []float32{1, -2, 0.5, 0}
	scale(s, 0.25)
	for i, want := range []float32{0.25, -0.5, 0.125, 0} {
		if s[i] != want {
			t.Errorf("element %d = %g, want %g", i, s[i], want)
		}
	}
}

func TestAdamWKernelPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("adamW with slices of different lengths did not panic")
		}
	}()
	adamW(make([]float32, 4), make([]float32, 4), make([]float32, 3), make([]float32, 4), adamCoeffs{})
}
