package optim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"ltecli/weights"
)

// twoTensors is a store of a [2, 2] matrix and a [3] vector holding values.
func twoTensors(t *testing.T, values ...float32) *weights.Store {
	t.Helper()
	s := newStore(t, []weights.Spec{{Name: "a", Shape: []int64{2, 2}}, {Name: "b", Shape: []int64{3}}})
	copy(s.Data, values)
	return s
}

func TestGradNorm(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct {
		values []float32
		want   float64
	}{
		{values: nil, want: 0},
		{values: []float32{3, 0, 0, 0, 0, 0, 4}, want: 5}, // across tensors
		{values: []float32{1, 1, 1, 1, 1, 1, 1}, want: math.Sqrt(7)},
		{values: []float32{-2, 0, 0, 0, 0, 0, 0}, want: 2},
		{values: []float32{3e30, 4e30}, want: math.Hypot(float64(float32(3e30)), float64(float32(4e30)))}, // squares past float32's range
		{values: []float32{1, nan}, want: math.NaN()},
		{values: []float32{1, inf}, want: math.Inf(1)},
		{values: []float32{-inf, 1}, want: math.Inf(1)},
	}
	for i, c := range cases {
		got := GradNorm(twoTensors(t, c.values...))
		if math.IsNaN(c.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-c.want) > 1e-6*c.want) {
			t.Errorf("case %d: GradNorm = %g, want %g", i, got, c.want)
		}
	}
}

func TestGradNormLargeAndIndependentOfCores(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	s := newStore(t, []weights.Spec{{Name: "w", Shape: []int64{5*blockSize + 123}}})
	fillNormal(rng, s.Data, 1)
	var want float64
	for _, x := range s.Data {
		want += float64(x) * float64(x)
	}
	want = math.Sqrt(want)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first float64
	for i, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		got := GradNorm(s)
		if math.Abs(got-want) > 1e-12*want {
			t.Errorf("case %d: GradNorm on %d cores = %.17g, want %.17g", i, procs, got, want)
		}
		if i == 0 {
			first = got
		} else if got != first {
			t.Errorf("case %d: GradNorm on %d cores = %.17g, on 1 core %.17g: not the same bits", i, procs, got, first)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	nan := float32(math.NaN())
	grads := []float32{3, 0, 0, 0, 0, 0, 4} // norm 5
	cases := []struct {
		values  []float32
		maxNorm float64
		coef    float64 // expected scale; 1 means bits unchanged
	}{
		{values: grads, maxNorm: 1, coef: 1 / (5 + 1e-6)},
		{values: grads, maxNorm: 4.5, coef: 4.5 / (5 + 1e-6)},
		{values: grads, maxNorm: 5, coef: 5 / (5 + 1e-6)}, // torch clips at the limit too
		{values: grads, maxNorm: 10, coef: 1},
		{values: grads, maxNorm: 0, coef: 1},
		{values: grads, maxNorm: -1, coef: 1},
		{values: []float32{nan, 1}, maxNorm: 1, coef: 1},
	}
	for i, c := range cases {
		s := twoTensors(t, c.values...)
		before := s.Clone()
		norm := ClipGradNorm(s, c.maxNorm)
		if wantNorm := GradNorm(before); norm != wantNorm && !(math.IsNaN(norm) && math.IsNaN(wantNorm)) {
			t.Errorf("case %d: returned norm %g, want the pre-clip norm %g", i, norm, wantNorm)
		}
		for j, got := range s.Data {
			want := before.Data[j]
			if c.coef != 1 {
				if d := math.Abs(float64(got) - float64(want)*c.coef); d > 1e-7*math.Abs(float64(want)) {
					t.Errorf("case %d: element %d = %g, want %g", i, j, got, float64(want)*c.coef)
				}
			} else if math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("case %d: element %d = %g, want it unchanged (%g)", i, j, got, want)
			}
		}
	}
}

func TestStepWithClipSkipsNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		index int
		value float32
	}{{0, nan}, {len(testSpecs) + 5, inf}, {100, -inf}}
	for i, c := range cases {
		rng := rand.New(rand.NewPCG(5, uint64(i)))
		params := newStore(t, testSpecs)
		fillNormal(rng, params.Data, 1)
		opt := NewAdamW(params, DefaultAdamW())
		grads := params.ZerosLike()
		fillNormal(rng, grads.Data, 1)
		if _, _, err := opt.StepWithClip(params, grads, 1e-3, 1); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		before, m, v := params.Clone(), opt.m.Clone(), opt.v.Clone()
		grads.Data[c.index] = c.value
		badGrads := grads.Clone()
		norm, skipped, err := opt.StepWithClip(params, grads, 1e-3, 1)
		if err != nil || !skipped || !(math.IsNaN(norm) || math.IsInf(norm, 0)) {
			t.Errorf("case %d: StepWithClip = %g, %v, %v; want a non-finite norm and a skip", i, norm, skipped, err)
		}
		if opt.Step != 1 || opt.Skipped != 1 {
			t.Errorf("case %d: Step %d, Skipped %d after a skipped step; want 1, 1", i, opt.Step, opt.Skipped)
		}
		for name, pair := range map[string][2][]float32{
			"params": {params.Data, before.Data}, "m": {opt.m.Data, m.Data}, "v": {opt.v.Data, v.Data}, "grads": {grads.Data, badGrads.Data},
		} {
			if j := sameBits(pair[0], pair[1]); j >= 0 {
				t.Errorf("case %d: skipped step changed %s[%d]", i, name, j)
			}
		}
		grads.Data[c.index] = 0
		if _, skipped, err := opt.StepWithClip(params, grads, 1e-3, 1); skipped || err != nil || opt.Step != 2 {
			t.Errorf("case %d: the next finite step: skipped %v, %v, Step %d; want a step", i, skipped, err, opt.Step)
		}
	}
}

func TestStepWithClipEqualsClipThenUpdate(t *testing.T) {
	for i, maxNorm := range []float64{0, 0.5, 1e9} {
		rng := rand.New(rand.NewPCG(6, uint64(i)))
		params := newStore(t, testSpecs)
		fillNormal(rng, params.Data, 1)
		params2 := params.Clone()
		fused, separate := NewAdamW(params, DefaultAdamW()), NewAdamW(params2, DefaultAdamW())
		for step := range 3 {
			grads := params.ZerosLike()
			fillNormal(rng, grads.Data, 3)
			clipped := grads.Clone()
			norm, _, err := fused.StepWithClip(params, grads, 1e-2, maxNorm)
			if err != nil {
				t.Fatal(err)
			}
			if n2 := ClipGradNorm(clipped, maxNorm); n2 != norm {
				t.Errorf("case %d step %d: norms %g and %g", i, step, norm, n2)
			}
			if err := separate.Update(params2, clipped, 1e-2); err != nil {
				t.Fatal(err)
			}
		}
		if j := sameBits(params.Data, params2.Data); j >= 0 {
			t.Errorf("case %d: parameter %d is %g fused, %g after ClipGradNorm and Update", i, j, params.Data[j], params2.Data[j])
		}
	}
}
