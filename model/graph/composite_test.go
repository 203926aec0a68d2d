package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"ltecli/ort"
)

// blockConfig sizes a pre-norm decoder block: RMSNorm, causal multi-head attention, RMSNorm,
// SwiGLU feed-forward, residuals.
type blockConfig struct {
	hidden, heads, ffn int64
	dt                 DType
}

// rmsNorm computes x / sqrt(mean(x², last axis) + eps) * w.
func rmsNorm(g *Graph, x, w *Value) *Value {
	ms := g.ReduceMean(g.Mul(x, x), []int64{-1}, true)
	return g.Mul(g.Mul(x, g.Reciprocal(g.Sqrt(g.Add(ms, g.ConstLike(x, 1e-6))))), w)
}

// buildBlock declares x [batch, seq, hidden] and the block's parameters as inputs and outputs
// y, the block applied to x.
func buildBlock(g *Graph, c blockConfig) {
	dt, hd := c.dt, c.hidden/c.heads
	x := g.Input("x", dt, Sym("batch"), Sym("seq"), D(c.hidden))
	attnNorm := g.Input("attn_norm", dt, D(c.hidden))
	wq := g.Input("wq", dt, D(c.hidden), D(c.hidden))
	wk := g.Input("wk", dt, D(c.hidden), D(c.hidden))
	wv := g.Input("wv", dt, D(c.hidden), D(c.hidden))
	wo := g.Input("wo", dt, D(c.hidden), D(c.hidden))
	ffnNorm := g.Input("ffn_norm", dt, D(c.hidden))
	wGate := g.Input("w_gate", dt, D(c.hidden), D(c.ffn))
	wUp := g.Input("w_up", dt, D(c.hidden), D(c.ffn))
	wDown := g.Input("w_down", dt, D(c.ffn), D(c.hidden))

	heads := func(v *Value) *Value { // [B, T, hidden] -> [B, heads, T, hd]
		return g.Transpose(g.Reshape(v, 0, 0, c.heads, hd), 0, 2, 1, 3)
	}
	h := rmsNorm(g, x, attnNorm)
	q, k, v := heads(g.MatMul(h, wq)), heads(g.MatMul(h, wk)), heads(g.MatMul(h, wv))
	scores := g.Mul(g.MatMul(q, g.Transpose(k, 0, 1, 3, 2)), g.ConstLike(x, 1/math.Sqrt(float64(hd)))) // [B, H, T, T]
	pos := g.Range(g.Scalar(Int64, 0), g.Gather(g.ShapeOf(x), g.Scalar(Int64, 1), 0), g.Scalar(Int64, 1))
	visible := g.Not(g.Greater(g.Unsqueeze(pos, 0), g.Unsqueeze(pos, 1))) // [T, T]: key <= query
	scores = g.Where(visible, scores, g.ConstLike(x, -1e9))
	attn := g.MatMul(g.Softmax(scores, -1), v)                      // [B, H, T, hd]
	attn = g.Reshape(g.Transpose(attn, 0, 2, 1, 3), 0, 0, c.hidden) // [B, T, hidden]
	x = g.Add(x, g.MatMul(attn, wo))
	h = rmsNorm(g, x, ffnNorm)
	gate, up := g.MatMul(h, wGate), g.MatMul(h, wUp)
	// silu(gate)·up, multiplied in an order that ONNX Runtime does not fuse into QuickGelu
	// (whose CPU kernel is float32 only).
	act := g.Mul(g.Mul(gate, up), g.Sigmoid(gate))
	g.Output("y", g.Add(x, g.MatMul(act, wDown)))
}

func TestVJPComposites(t *testing.T) {
	cases := []gradCase{
		{name: "MLP", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(4))
			w1 := g.Input("w1", Float64, D(4), D(5))
			b1 := g.Input("b1", Float64, D(5))
			w2 := g.Input("w2", Float64, D(5), D(3))
			b2 := g.Input("b2", Float64, D(3))
			h := g.Tanh(g.Add(g.MatMul(x, w1), b1))
			g.Output("y", g.Sigmoid(g.Add(g.MatMul(h, w2), b2)))
		}},
		{name: "causal attention with Trilu mask", dims: batch, build: func(g *Graph) {
			q := g.Input("q", Float64, bDim, tDim, D(4))
			k := g.Input("k", Float64, bDim, tDim, D(4))
			v := g.Input("v", Float64, bDim, tDim, D(4))
			scores := g.Mul(g.MatMul(q, g.Transpose(k, 0, 2, 1)), g.ConstLike(q, 0.5)) // [b, t, t]
			seq := g.Gather(g.ShapeOf(q), g.ConstI64([]int64{1}), 0)
			ones := g.ConstantOfShape(g.Concat(0, seq, seq), Int64, 1)
			lower := g.Cast(g.Trilu(ones, false, 0), Bool) // [t, t]
			p := g.Softmax(g.Where(lower, scores, g.ConstLike(q, -1e9)), -1)
			g.Output("o", g.MatMul(p, v))
		}},
		{name: "RMSNorm", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim, D(6))
			w := g.Input("w", Float64, D(6))
			ms := g.ReduceMean(g.Pow(x, 2), []int64{-1}, true)
			g.Output("y", g.Mul(g.Mul(x, g.Pow(g.Add(ms, g.ConstLike(x, 1e-6)), -0.5)), w))
		}},
		{name: "next-token log-probabilities", dims: batch, build: func(g *Graph) {
			h := g.Input("h", Float64, bDim, tDim, D(4))
			w := g.Input("w", Float64, D(4), D(7))
			ids := g.Input("ids", Int64, bDim, tDim)
			logits := g.MatMul(g.Slice(h, []int64{0}, []int64{-1}, []int64{1}, nil), w) // [b, t-1, 7]
			lsm := g.LogSoftmax(logits, -1)
			targets := g.Unsqueeze(g.Slice(ids, []int64{1}, []int64{math.MaxInt64}, []int64{1}, nil), -1)
			g.Output("logp", g.Squeeze(g.GatherElements(lsm, targets, -1), -1))
			g.Output("entropy", g.Neg(g.ReduceSum(g.Mul(g.Exp(lsm), lsm), []int64{-1}, false)))
		}, data: map[string]*ort.Tensor{"ids": ort.I64Tensor([]int64{1, 6, 6, 0, 3, 2, 2, 5, 1, 4}, 2, 5)}},
		{name: "transformer block", dims: map[string]int64{"batch": 2, "seq": 5}, lo: -0.5, hi: 0.5, build: func(g *Graph) {
			buildBlock(g, blockConfig{hidden: 8, heads: 2, ffn: 12, dt: Float64})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrad(t, c) })
	}
}

// TestBlockFloat32 runs the float32 block and its VJP (the benchmarked graphs, smaller) and
// compares every gradient with the float64 graphs' on the same inputs.
func TestBlockFloat32(t *testing.T) {
	dims := map[string]int64{"batch": 2, "seq": 7}
	grads := map[DType][]*ort.Tensor{}
	for _, dt := range []DType{Float64, Float32} {
		g := New("block")
		buildBlock(g, blockConfig{hidden: 32, heads: 4, ffn: 48, dt: dt})
		bg, err := VJP(g, g.InputNames(), VJPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		var in []*ort.Tensor
		for _, v := range bg.inputs {
			shape, _ := bind(v.shape, dims)
			x := randomTensor(r, Float64, shape, -0.5, 0.5)
			if dt == Float32 {
				f := make([]float32, len(x.F64))
				for i, v := range x.F64 {
					f[i] = float32(v)
				}
				x = ort.F32Tensor(f, shape...)
			}
			in = append(in, x)
		}
		grads[dt] = run(t, session(t, bg), in, bg.outputs, dims)
	}
	for i, want := range grads[Float64] {
		got := grads[Float32][i]
		scale, worst := 0.0, 0.0
		for j, w := range want.F64 {
			scale = max(scale, math.Abs(w))
			worst = max(worst, math.Abs(float64(got.F32[j])-w))
		}
		if worst > 1e-4*scale {
			t.Errorf("gradient %d: float32 differs from float64 by %.3g (largest entry %.3g)", i, worst, scale)
		}
	}
}
