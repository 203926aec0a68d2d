package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"ltecli/ort"
)

// gradCase is one finite-difference check of VJP through ONNX Runtime in float64.
type gradCase struct {
	name string
	// dims gives the run-time size of each symbolic dim the inputs use.
	dims  map[string]int64
	build func(g *Graph)
	// wrt lists the inputs to differentiate; nil means every float input.
	wrt []string
	// data fixes some inputs (indices, masks, values away from kinks); the other float inputs
	// are uniform in [lo, hi) (default [-1, 1)).
	data   map[string]*ort.Tensor
	lo, hi float64
	// step and tol override the finite-difference step (1e-5) and tolerance (1e-6).
	step, tol float64
}

// session encodes g and opens it at optimisation level "all".
func session(t testing.TB, g *Graph) *ort.Session {
	t.Helper()
	model, err := g.Encode()
	if err != nil {
		t.Fatalf("encode %s: %v", g.Name(), err)
	}
	s, err := ort.NewSession(model, g.InputNames(), g.OutputNames(), ort.DefaultSessionConfig())
	if err != nil {
		t.Fatalf("session for %s: %v", g.Name(), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run runs s with outputs preallocated from their shapes (which also lets rank-0 outputs
// through).
func run(t testing.TB, s *ort.Session, inputs []*ort.Tensor, outputs []*Value, env map[string]int64) []*ort.Tensor {
	t.Helper()
	slots := make([]*ort.Tensor, len(outputs))
	for i, o := range outputs {
		if shape, ok := bind(o.shape, env); ok {
			slots[i] = ort.Zeros(o.dtype, shape...)
		}
	}
	out, err := s.Run(inputs, slots)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out
}

// bind evaluates a shape with the symbolic sizes in env; ok is false for anonymous dims.
func bind(shape []Dim, env map[string]int64) ([]int64, bool) {
	out := make([]int64, len(shape))
	for i, d := range shape {
		e := parseDim(d)
		v := e.off
		if len(e.atoms) > 0 {
			p := e.coef
			for _, a := range e.atoms {
				n, ok := env[a]
				if !ok {
					return nil, false
				}
				p *= n
			}
			v += p
		}
		out[i] = v
	}
	return out, true
}

func randomTensor(r *rand.Rand, dt DType, shape []int64, lo, hi float64) *ort.Tensor {
	n := ort.NumElements(shape)
	switch dt {
	case Float64:
		x := make([]float64, n)
		for i := range x {
			x[i] = lo + (hi-lo)*r.Float64()
		}
		return ort.F64Tensor(x, shape...)
	case Float32:
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(lo + (hi-lo)*r.Float64())
		}
		return ort.F32Tensor(x, shape...)
	}
	panic(fmt.Sprintf("no random %v tensors", dt))
}

// dot is Σ a·b over float64 tensors.
func dot(a, b *ort.Tensor) float64 {
	s := 0.0
	for i := range a.F64 {
		s += a.F64[i] * b.F64[i]
	}
	return s
}

// checkGrad builds the case's graph, checks ONNX Runtime's output shapes against the inferred
// ones, builds the VJP and compares every gradient entry with a central difference of the
// random projection Σ_k cot_k · output_k.
func checkGrad(t *testing.T, c gradCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, uint64(len(c.name))))
	lo, hi := c.lo, c.hi
	if lo == 0 && hi == 0 {
		lo, hi = -1, 1
	}
	step, tol := c.step, c.tol
	if step == 0 {
		step = 1e-5
	}
	if tol == 0 {
		tol = 1e-6
	}

	g := New(c.name)
	c.build(g)
	fwd := session(t, g)
	inputs := make([]*ort.Tensor, len(g.inputs))
	for i, in := range g.inputs {
		if d, ok := c.data[in.name]; ok {
			inputs[i] = d
			continue
		}
		shape, ok := bind(in.shape, c.dims)
		if !ok {
			t.Fatalf("no size for the dims of input %s", in)
		}
		inputs[i] = randomTensor(r, in.dtype, shape, lo, hi)
	}
	outs := run(t, fwd, inputs, g.outputs, c.dims)
	for k, o := range g.outputs {
		if want, ok := bind(o.shape, c.dims); ok && !slices.Equal(want, outs[k].Shape) {
			t.Fatalf("output %s: inferred %v, ONNX Runtime gave %v", o, want, outs[k].Shape)
		}
	}

	wrt := c.wrt
	if wrt == nil {
		for _, in := range g.inputs {
			if in.dtype.IsFloat() {
				wrt = append(wrt, in.name)
			}
		}
	}
	bg, err := VJP(g, wrt, VJPOptions{})
	if err != nil {
		t.Fatalf("VJP: %v", err)
	}
	bwd := session(t, bg)
	cots := map[string]*ort.Tensor{}
	bin := slices.Clone(inputs)
	for k, o := range g.outputs {
		if !o.dtype.IsFloat() {
			continue
		}
		cot := randomTensor(r, o.dtype, outs[k].Shape, -1, 1)
		cots[o.name] = cot
		bin = append(bin, cot)
	}
	grads := run(t, bwd, bin, bg.outputs, c.dims)
	checkAccumulate(t, g, wrt, bin, grads, c.dims, r)

	loss := func() float64 {
		s := 0.0
		for k, out := range run(t, fwd, inputs, g.outputs, c.dims) {
			if cot, ok := cots[g.outputs[k].name]; ok {
				s += dot(cot, out)
			}
		}
		return s
	}
	for w, name := range wrt {
		i := slices.IndexFunc(g.inputs, func(v *Value) bool { return v.name == name })
		x := inputs[i].F64
		if !slices.Equal(grads[w].Shape, inputs[i].Shape) {
			t.Fatalf("d_%s has shape %v, want %v", name, grads[w].Shape, inputs[i].Shape)
		}
		worst, at := 0.0, -1
		for j := range x {
			orig := x[j]
			x[j] = orig + step
			up := loss()
			x[j] = orig - step
			down := loss()
			x[j] = orig
			fd := (up - down) / (2 * step)
			got := grads[w].F64[j]
			if e := math.Abs(fd-got) / max(1, math.Abs(fd)); e > worst || math.IsNaN(e) {
				worst, at = e, j
			}
		}
		if worst > tol || math.IsNaN(worst) {
			t.Errorf("d_%s: worst relative error %.3g at entry %d (tolerance %.0e)", name, worst, at, tol)
		}
	}
}

// checkAccumulate builds the VJP with VJPOptions.Accumulate for every other wrt input and
// checks that with random accumulators it gives accumulator + the plain VJP's gradients for
// those and the plain gradients for the rest.
func checkAccumulate(t *testing.T, g *Graph, wrt []string, bin, grads []*ort.Tensor, env map[string]int64, r *rand.Rand) {
	t.Helper()
	// Every other wrt input accumulates (the first always does), so that both kinds are
	// checked in one graph.
	var accumulated []string
	for w, name := range wrt {
		if w%2 == 0 {
			accumulated = append(accumulated, name)
		}
	}
	ag, err := VJP(g, wrt, VJPOptions{Accumulate: accumulated})
	if err != nil {
		t.Fatalf("VJP with accumulators: %v", err)
	}
	in := slices.Clone(bin)
	accs := make([]*ort.Tensor, len(wrt))
	for w, name := range wrt {
		if w%2 != 0 {
			continue
		}
		acc := randomTensor(r, Float64, grads[w].Shape, -1, 1)
		if want := AccumulatorPrefix + "d_" + name; ag.inputs[len(in)].name != want {
			t.Fatalf("accumulator input %d is %q, want %q", len(in), ag.inputs[len(in)].name, want)
		}
		accs[w] = acc
		in = append(in, acc)
	}
	if len(in) != len(ag.inputs) {
		t.Fatalf("VJP with accumulators %v of %v has %d inputs, want %d", accumulated, wrt, len(ag.inputs), len(in))
	}
	got := run(t, session(t, ag), in, ag.outputs, env)
	for w, name := range wrt {
		for j, x := range grads[w].F64 {
			want := x
			if accs[w] != nil {
				want += accs[w].F64[j]
			}
			if math.Abs(got[w].F64[j]-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("d_%s[%d] with an accumulator: %g, want %g", name, j, got[w].F64[j], want)
			}
		}
	}
}
