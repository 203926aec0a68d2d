package optim

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"ltecli/weights"
)

// refAdamW is an independent float64 AdamW written from torch.optim.AdamW's single-tensor
// code: decay, lerp for the first moment, addcmul for the second, and
// p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
type refAdamW struct {
	lr, beta1, beta2, eps, wd float64
	step                      int
	m, v                      [][]float64
}

func (r *refAdamW) update(params, grads [][]float64, decay []bool) {
	if r.m == nil {
		for _, p := range params {
			r.m = append(r.m, make([]float64, len(p)))
			r.v = append(r.v, make([]float64, len(p)))
		}
	}
	r.step++
	bias1 := 1 - math.Pow(r.beta1, float64(r.step))
	bias2 := 1 - math.Pow(r.beta2, float64(r.step))
	for k, p := range params {
		m, v, g := r.m[k], r.v[k], grads[k]
		for i := range p {
			if decay[k] {
				p[i] *= 1 - r.lr*r.wd
			}
			m[i] += (g[i] - m[i]) * (1 - r.beta1)
			v[i] = v[i]*r.beta2 + (1-r.beta2)*g[i]*g[i]
			p[i] -= r.lr / bias1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bias2) + r.eps)
		}
	}
}

// refClip scales grads like torch.nn.utils.clip_grad_norm_ in float64; it returns the norm.
func refClip(grads [][]float64, maxNorm float64) float64 {
	var sum float64
	for _, g := range grads {
		for _, x := range g {
			sum += x * x
		}
	}
	norm := math.Sqrt(sum)
	coef := math.Min(1, maxNorm/(norm+1e-6))
	for _, g := range grads {
		for i := range g {
			g[i] *= coef
		}
	}
	return norm
}

// ulpAt returns the spacing of float32 values at |x|.
func ulpAt(x float64) float64 {
	f := float32(math.Abs(x))
	return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
}

// ulps returns |a-b| in units of float32 spacing at b.
func ulps(a float32, b float64) float64 { return math.Abs(float64(a)-b) / ulpAt(b) }

func TestAdamWFirstStepClosedForm(t *testing.T) {
	// At step 1, m-hat = g and v-hat = g*g, so p1 = p0*(1 - lr*wd) - lr*g/(|g| + eps).
	cases := []struct {
		p0, g, lr, wd float64
		shape         []int64
	}{
		{p0: 0.5, g: 0.25, lr: 1e-3, wd: 0.01, shape: []int64{1, 1}},
		{p0: -2, g: -3e-4, lr: 1e-2, wd: 0.1, shape: []int64{1, 1}},
		{p0: 1, g: 1e-9, lr: 1e-3, wd: 0, shape: []int64{1}}, // g comparable to eps
		{p0: 1, g: 0, lr: 1e-3, wd: 0.5, shape: []int64{1, 1}},
		{p0: 3, g: 7, lr: 0.1, wd: 0.5, shape: []int64{1}}, // no decay on vectors
		{p0: 0.02, g: 1e3, lr: 1e-6, wd: 0.01, shape: []int64{1, 1}},
	}
	for i, c := range cases {
		params := newStore(t, []weights.Spec{{Name: "w", Shape: c.shape}})
		grads := params.ZerosLike()
		params.Data[0], grads.Data[0] = float32(c.p0), float32(c.g)
		cfg := DefaultAdamW()
		cfg.WeightDecay = c.wd
		opt := NewAdamW(params, cfg)
		if err := opt.Update(params, grads, c.lr); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		p0, g := float64(float32(c.p0)), float64(float32(c.g))
		decay := 1.0
		if len(c.shape) >= 2 {
			decay = 1 - c.lr*c.wd
		}
		want := p0*decay - c.lr*g/(math.Abs(g)+1e-8)
		if u := ulps(params.Data[0], want); u > 1 {
			t.Errorf("case %d: p1 = %.9g, want %.9g (%.2f ulp)", i, params.Data[0], want, u)
		}
		if u := ulps(opt.m.Data[0], 0.1*g); u > 1 {
			t.Errorf("case %d: m1 = %g, want %g", i, opt.m.Data[0], 0.1*g)
		}
		if u := ulps(opt.v.Data[0], 0.001*g*g); g != 0 && u > 2 {
			t.Errorf("case %d: v1 = %g, want %g", i, opt.v.Data[0], 0.001*g*g)
		}
		if opt.Step != 1 {
			t.Errorf("case %d: Step = %d, want 1", i, opt.Step)
		}
	}
}

func TestAdamWConstantGradientClosedForm(t *testing.T) {
	// With a constant gradient, m-hat = g and v-hat = g*g at every step, so each step is
	// p = a*p - lr*s with a = 1 - lr*wd and s = g/(|g|+eps), and after n steps
	// p = a^n*p0 - lr*s*(1 - a^n)/(1 - a)  (n*lr*s when a = 1).
	cases := []struct {
		p0, g, lr, wd float64
		steps         int
	}{
		{p0: 0.3, g: 0.02, lr: 1e-3, wd: 0, steps: 50},
		{p0: 0.3, g: -0.02, lr: 1e-3, wd: 0.1, steps: 50},
		{p0: -1, g: 5, lr: 1e-2, wd: 1, steps: 20},
	}
	for i, c := range cases {
		params := newStore(t, []weights.Spec{{Name: "w", Shape: []int64{3, 5}}})
		grads := params.ZerosLike()
		for j := range params.Data {
			params.Data[j], grads.Data[j] = float32(c.p0), float32(c.g)
		}
		cfg := DefaultAdamW()
		cfg.WeightDecay = c.wd
		opt := NewAdamW(params, cfg)
		for range c.steps {
			if err := opt.Update(params, grads, c.lr); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
		}
		p0, g := float64(float32(c.p0)), float64(float32(c.g))
		s := g / (math.Abs(g) + 1e-8)
		a := 1 - c.lr*c.wd
		n := float64(c.steps)
		want := p0 - n*c.lr*s
		if a != 1 {
			want = math.Pow(a, n)*p0 - c.lr*s*(1-math.Pow(a, n))/(1-a)
		}
		// Each step rounds p to float32 once (half an ulp) and the step itself to a few
		// float32 ulps of lr.
		bound := n * (0.5*ulpAt(max(math.Abs(p0), math.Abs(want))) + 1e-6*c.lr)
		for j, got := range params.Data {
			if d := math.Abs(float64(got) - want); d > bound {
				t.Fatalf("case %d: element %d = %.9g after %d steps, want %.9g (off by %.2g > %.2g)", i, j, got, c.steps, want, d, bound)
			}
		}
	}
}

func TestAdamWMatchesFloat64Reference(t *testing.T) {
	// Several steps with weight decay, clipping and a changing rate, against refAdamW run in
	// float64 from the same fp32 start and gradients. The relative error of each tensor's
	// total change must stay at float32 rounding level.
	cases := []struct {
		lrs     []float64
		std     float64 // of the initial parameters
		gradStd []float64
		maxNorm float64
		tol     float64
	}{
		{lrs: []float64{1e-3, 2e-3, 3e-3, 3e-3, 1e-3}, std: 0.1, gradStd: []float64{1, 0.1, 10, 1e-3, 1}, maxNorm: 5, tol: 1e-4},
		{lrs: []float64{1e-6, 1e-6, 1e-6}, std: 0.02, gradStd: []float64{1e-2, 1, 1e-4}, maxNorm: 1, tol: 2e-3},
		{lrs: []float64{0.1, 0.05}, std: 1, gradStd: []float64{1e-6, 1e3}, maxNorm: 0, tol: 1e-5},
	}
	for i, c := range cases {
		rng := rand.New(rand.NewPCG(1, uint64(i)))
		params := newStore(t, testSpecs)
		fillNormal(rng, params.Data, c.std)
		start := params.Clone()
		cfg := DefaultAdamW()
		cfg.WeightDecay = 0.1
		opt := NewAdamW(params, cfg)

		ref := &refAdamW{beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1}
		var refParams [][]float64
		var decay []bool
		for _, v := range params.Views {
			refParams = append(refParams, toFloat64(params.Slice(v)))
			decay = append(decay, len(v.Shape) >= 2)
		}
		for step, lr := range c.lrs {
			grads := params.ZerosLike()
			fillNormal(rng, grads.Data, c.gradStd[step])
			var refGrads [][]float64
			for _, v := range grads.Views {
				refGrads = append(refGrads, toFloat64(grads.Slice(v)))
			}
			wantNorm := refClip(refGrads, math.Inf(1))
			if c.maxNorm > 0 {
				refClip(refGrads, c.maxNorm)
			}
			ref.lr = lr
			ref.update(refParams, refGrads, decay)
			norm, skipped, err := opt.StepWithClip(params, grads, lr, c.maxNorm)
			if err != nil || skipped {
				t.Fatalf("case %d step %d: skipped %v, %v", i, step, skipped, err)
			}
			if math.Abs(norm-wantNorm) > 1e-12*wantNorm {
				t.Errorf("case %d step %d: norm %.17g, want %.17g", i, step, norm, wantNorm)
			}
		}
		for k, v := range params.Views {
			got, begin := params.Slice(v), start.Slice(v)
			var diff, change float64
			for j := range got {
				want := refParams[k][j] - float64(begin[j])
				d := (float64(got[j]) - float64(begin[j])) - want
				diff += d * d
				change += want * want
			}
			if rel := math.Sqrt(diff / change); !(rel < c.tol) {
				t.Errorf("case %d: tensor %s: relative error of the update %.3g, want < %g", i, v.Name, rel, c.tol)
			}
		}
	}
}

func TestAdamWDecayGroups(t *testing.T) {
	// With zero gradients the Adam term is exactly 0, so a decaying tensor is multiplied by
	// 1 - lr*wd and every other tensor keeps its bits.
	const lr, wd = 0.01, 0.5
	cases := []struct {
		filter func(weights.View) bool
		decays func(weights.View) bool
	}{
		{filter: nil, decays: func(v weights.View) bool { return len(v.Shape) >= 2 }},
		{
			filter: func(v weights.View) bool { return DecayMatrices(v) && !strings.HasPrefix(v.Name, "embed") },
			decays: func(v weights.View) bool { return len(v.Shape) >= 2 && v.Name != "embed.weight" },
		},
		{filter: func(weights.View) bool { return true }, decays: func(weights.View) bool { return true }},
	}
	for i, c := range cases {
		rng := rand.New(rand.NewPCG(2, uint64(i)))
		params := newStore(t, testSpecs)
		fillNormal(rng, params.Data, 1)
		start := params.Clone()
		cfg := DefaultAdamW()
		cfg.WeightDecay = wd
		cfg.DecayFilter = c.filter
		opt := NewAdamW(params, cfg)
		if err := opt.Update(params, params.ZerosLike(), lr); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for _, v := range params.Views {
			decays := c.decays(v)
			if opt.Decays(v.Name) != decays {
				t.Errorf("case %d: Decays(%q) = %v, want %v", i, v.Name, !decays, decays)
			}
			for j, got := range params.Slice(v) {
				want := start.Slice(v)[j]
				if decays {
					want = float32(float64(want) * (1 - lr*wd))
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("case %d: %s[%d] = %g, want %g (decay %v)", i, v.Name, j, got, want, decays)
				}
			}
		}
	}
}

func TestUpdateRejectsBadInput(t *testing.T) {
	other := append([]weights.Spec(nil), testSpecs...)
	other[4] = weights.Spec{Name: "layers.0.mlp.up.weight", Shape: []int64{8, 21}}
	renamed := append([]weights.Spec(nil), testSpecs...)
	renamed[2].Name = "layers.0.attn.k.weight"
	cases := []struct {
		grads  []weights.Spec
		mutate func(*AdamWConfig)
		lr     float64
		want   string
	}{
		{grads: other, lr: 1e-3, want: `"layers.0.mlp.up.weight" [8 21]`},
		{grads: renamed, lr: 1e-3, want: `"layers.0.attn.k.weight"`},
		{grads: testSpecs[:3], lr: 1e-3, want: "have 3 tensors"},
		{grads: testSpecs, lr: math.NaN(), want: "learning rate"},
		{grads: testSpecs, lr: -1, want: "learning rate"},
		{grads: testSpecs, mutate: func(c *AdamWConfig) { c.Beta1 = 1 }, lr: 1e-3, want: "beta1"},
		{grads: testSpecs, mutate: func(c *AdamWConfig) { c.Beta2 = -0.1 }, lr: 1e-3, want: "beta2"},
		{grads: testSpecs, mutate: func(c *AdamWConfig) { c.Eps = math.Inf(1) }, lr: 1e-3, want: "eps"},
		{grads: testSpecs, mutate: func(c *AdamWConfig) { c.WeightDecay = -1 }, lr: 1e-3, want: "weight decay"},
	}
	for i, c := range cases {
		params := newStore(t, testSpecs)
		grads := newStore(t, c.grads)
		for j := range grads.Data {
			grads.Data[j] = 1
		}
		cfg := DefaultAdamW()
		if c.mutate != nil {
			c.mutate(&cfg)
		}
		opt := NewAdamW(params, cfg)
		err := opt.Update(params, grads, c.lr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
		if c.want != "learning rate" && c.mutate == nil && !errors.Is(err, errLayout) {
			t.Errorf("case %d: error %v does not wrap errLayout", i, err)
		}
		if opt.Step != 0 || sameBits(params.Data, make([]float32, len(params.Data))) != -1 {
			t.Errorf("case %d: a rejected update changed the state", i)
		}
	}
}

func TestAdamWLR(t *testing.T) {
	params := newStore(t, testSpecs)
	opt := NewAdamW(params, DefaultAdamW())
	if got := opt.LR(); got != 1e-3 {
		t.Errorf("LR without schedule = %g, want Config.LR 1e-3", got)
	}
	opt.Schedule = ScheduleConfig{Kind: Constant, PeakLR: 0.5, WarmupSteps: 4}
	opt.Step = 1
	if got := opt.LR(); got != 0.25 {
		t.Errorf("LR at step 1 of a 4-step warm-up to 0.5 = %g, want 0.25", got)
	}
}
