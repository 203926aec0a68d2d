package graph

import (
	"testing"

	"ltecli/ort"
)

var (
	bDim  = Sym("b")
	tDim  = Sym("t")
	batch = map[string]int64{"b": 2, "t": 5}
)

// unary returns a case applying f to x [b, 3].
func unaryCase(name string, f func(g *Graph, x *Value) *Value, lo, hi float64) gradCase {
	return gradCase{name: name, dims: batch, lo: lo, hi: hi, build: func(g *Graph) {
		x := g.Input("x", Float64, bDim, D(3))
		g.Output("y", f(g, x))
	}}
}

func TestVJPRules(t *testing.T) {
	cases := []gradCase{
		{name: "Add broadcast", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			y := g.Input("y", Float64, D(3), D(1))
			z := g.Input("z", Float64, D(4))
			g.Output("s", g.Add(g.Add(x, y), z))
		}},
		{name: "Sub broadcast both sides", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, D(1), D(4))
			y := g.Input("y", Float64, bDim, D(3), D(1))
			g.Output("d", g.Sub(x, y))
		}},
		{name: "Mul fan-out", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			y := g.Input("y", Float64, D(4))
			g.Output("p", g.Mul(g.Mul(x, y), x))
			g.Output("q", g.Mul(y, y))
		}},
		{name: "Div", dims: batch, lo: 0.5, hi: 2, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3))
			y := g.Input("y", Float64, D(3))
			g.Output("q", g.Div(x, y))
			g.Output("r", g.Div(y, x))
		}},
		unaryCase("Neg", (*Graph).Neg, -1, 1),
		unaryCase("Exp", (*Graph).Exp, -1, 1),
		unaryCase("Log", (*Graph).Log, 0.5, 2),
		unaryCase("Sqrt", (*Graph).Sqrt, 0.5, 2),
		unaryCase("Reciprocal", (*Graph).Reciprocal, 0.5, 2),
		unaryCase("Pow 3", func(g *Graph, x *Value) *Value { return g.Pow(x, 3) }, -1, 1),
		unaryCase("Pow 2", func(g *Graph, x *Value) *Value { return g.Pow(x, 2) }, -1, 1),
		unaryCase("Pow -0.5", func(g *Graph, x *Value) *Value { return g.Pow(x, -0.5) }, 0.5, 2),
		unaryCase("Sigmoid", (*Graph).Sigmoid, -2, 2),
		unaryCase("Tanh", (*Graph).Tanh, -2, 2),
		unaryCase("Cos", (*Graph).Cos, -2, 2),
		unaryCase("Sin", (*Graph).Sin, -2, 2),
		unaryCase("Abs", (*Graph).Abs, 0.1, 1),
		unaryCase("Abs negative", (*Graph).Abs, -1, -0.1),
		unaryCase("Relu", (*Graph).Relu, 0.1, 1),
		unaryCase("Relu negative", (*Graph).Relu, -1, -0.1),
		unaryCase("Sign plus x", func(g *Graph, x *Value) *Value { return g.Add(g.Sign(x), g.Mul(x, x)) }, 0.1, 1),
		unaryCase("Identity", (*Graph).Identity, -1, 1),
		{name: "Cast through float32", dims: batch, step: 1e-2, tol: 1e-4, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3))
			g.Output("y", g.Cast(g.Cast(x, Float32), Float64))
		}},
		{name: "Max Min broadcast", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3))
			y := g.Input("y", Float64, D(3))
			g.Output("hi", g.Max(x, y))
			g.Output("lo", g.Min(x, y))
		}},
		{name: "Where broadcast", dims: batch, build: func(g *Graph) {
			c := g.Input("c", Bool, D(3), D(1))
			x := g.Input("x", Float64, bDim, D(3), D(4))
			y := g.Input("y", Float64, D(4))
			g.Output("w", g.Where(c, x, y))
		}, data: map[string]*ort.Tensor{"c": ort.BoolTensor([]bool{true, false, true}, 3, 1)}},
		{name: "Softmax", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("p", g.Softmax(x, 1))
		}},
		{name: "LogSoftmax", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("p", g.LogSoftmax(x, -1))
		}},
		{name: "ReduceSum", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("s1", g.ReduceSum(x, []int64{1}, false))
			g.Output("s2", g.ReduceSum(x, []int64{0, -1}, true))
			g.Output("all", g.Unsqueeze(g.ReduceSum(x, nil, false), 0))
		}},
		{name: "ReduceMean", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("m1", g.ReduceMean(x, []int64{0, 2}, true))
			g.Output("m2", g.ReduceMean(x, []int64{-1}, false))
		}},
		{name: "ReduceMax", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("m1", g.ReduceMax(x, []int64{-1}, false))
			g.Output("m2", g.ReduceMax(x, []int64{0, 1}, true))
		}},
		{name: "MatMul linear layer", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim, D(4))
			w := g.Input("w", Float64, D(4), D(3))
			g.Output("y", g.MatMul(x, w))
		}},
		{name: "MatMul matrices", build: func(g *Graph) {
			x := g.Input("x", Float64, D(2), D(4))
			w := g.Input("w", Float64, D(4), D(3))
			g.Output("y", g.MatMul(x, w))
		}},
		{name: "MatMul batched broadcast", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(1), D(3), D(4))
			w := g.Input("w", Float64, D(2), D(4), D(5))
			g.Output("y", g.MatMul(x, w))
		}},
		{name: "MatMul batched transpose", dims: batch, build: func(g *Graph) {
			q := g.Input("q", Float64, bDim, D(2), tDim, D(3))
			k := g.Input("k", Float64, bDim, D(2), tDim, D(3))
			g.Output("s", g.MatMul(q, g.Transpose(k, 0, 1, 3, 2)))
		}},
		{name: "MatMul vectors", dims: batch, build: func(g *Graph) {
			v := g.Input("v", Float64, D(4))
			m := g.Input("m", Float64, bDim, D(4), D(3))
			u := g.Input("u", Float64, D(3))
			g.Output("vm", g.MatMul(v, m))
			g.Output("mu", g.MatMul(m, u))
			g.Output("vv", g.Unsqueeze(g.MatMul(v, v), 0))
		}},
		{name: "Gemm", build: func(g *Graph) {
			a := g.Input("a", Float64, D(2), D(3))
			at := g.Input("at", Float64, D(3), D(2))
			b := g.Input("b", Float64, D(3), D(4))
			bt := g.Input("bt", Float64, D(4), D(3))
			c := g.Input("c", Float64, D(4))
			g.Output("nn", g.Gemm(a, b, c, false, false))
			g.Output("tn", g.Gemm(at, b, nil, true, false))
			g.Output("nt", g.Gemm(a, bt, c, false, true))
			g.Output("tt", g.Gemm(at, bt, nil, true, true))
		}},
		{name: "Gather embedding", dims: batch, build: func(g *Graph) {
			e := g.Input("e", Float64, D(5), D(3))
			ids := g.Input("ids", Int64, bDim, D(3))
			g.Output("h", g.Gather(e, ids, 0))
		}, data: map[string]*ort.Tensor{"ids": ort.I64Tensor([]int64{0, 4, 4, 2, 0, 4}, 2, 3)}},
		{name: "Gather tied embedding", dims: batch, build: func(g *Graph) {
			e := g.Input("e", Float64, D(5), D(3))
			ids := g.Input("ids", Int64, bDim, D(3))
			h := g.Gather(e, ids, 0)                                        // [b, 3, 3]
			g.Output("logits", g.MatMul(h, g.Transpose(e, 1, 0)))           // [b, 3, 5]
			g.Output("again", g.Gather(e, g.ConstI64([]int64{1, 1, 3}), 0)) // a second scatter-add
		}, data: map[string]*ort.Tensor{"ids": ort.I64Tensor([]int64{0, 4, 4, 2, 0, 4}, 2, 3)}},
		{name: "Gather inner axis", build: func(g *Graph) {
			x := g.Input("x", Float64, D(3), D(5), D(2))
			g.Output("h", g.Gather(x, g.ConstI64([]int64{1, 3, 1, 0}, 2, 2), 1))
			g.Output("s", g.Gather(x, g.Scalar(Int64, 2), 1))
			g.Output("l", g.Gather(x, g.ConstI64([]int64{1, -2}), -1))
		}},
		{name: "GatherElements", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(4))
			idx := g.Input("idx", Int64, bDim, D(3))
			g.Output("y", g.GatherElements(x, idx, 1))
		}, data: map[string]*ort.Tensor{"idx": ort.I64Tensor([]int64{0, 3, 3, 1, 1, 2}, 2, 3)}},
		{name: "GatherElements symbolic axis", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim, D(3))
			idx := g.Input("idx", Int32, bDim, D(2), D(3))
			g.Output("y", g.GatherElements(x, idx, 1))
		}, data: map[string]*ort.Tensor{"idx": {DType: ort.Int32, Shape: []int64{2, 2, 3}, I32: []int32{0, 4, -1, 2, 2, 2, -5, 1, 3, 3, 0, 4}}}},
		{name: "Reshape", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim, D(6))
			heads := g.Reshape(x, 0, 0, 2, 3)
			flat := g.Reshape(x, -1, 6)
			g.Output("heads", g.Mul(heads, heads))
			g.Output("flat", flat)
			g.Output("back", g.ReshapeTo(flat, g.ShapeOf(x)))
		}},
		{name: "Transpose", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3), D(4))
			g.Output("y", g.Transpose(x, 2, 0, 1))
			g.Output("z", g.Transpose(g.Transpose(x, 1, 2, 0), 1, 0, 2))
		}},
		{name: "Concat fan-out", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(2), D(3))
			y := g.Input("y", Float64, bDim, D(1), D(3))
			g.Output("c", g.Concat(1, x, y, x))
		}},
		{name: "Concat symbolic", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim)
			y := g.Input("y", Float64, bDim, D(2))
			g.Output("c", g.Concat(-1, x, y, x))
		}},
		{name: "Slice static", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(7))
			g.Output("mid", g.Slice(x, []int64{1}, []int64{5}, []int64{1}, nil))
			g.Output("odd", g.Slice(x, []int64{1}, []int64{100}, []int64{-1}, []int64{2}))
			g.Output("rev", g.Slice(x, []int64{-2}, []int64{-100}, []int64{1}, []int64{-1}))
			g.Output("both", g.Slice(x, []int64{1, 0}, []int64{2, -2}, nil, []int64{1, 3}))
		}},
		{name: "Slice symbolic", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, tDim, D(2))
			head := g.Slice(x, []int64{0}, []int64{-1}, []int64{1}, nil)
			tail := g.Slice(x, []int64{1}, []int64{largeBound}, []int64{1}, nil)
			g.Output("diff", g.Sub(tail, head))
			g.Output("last", g.Slice(x, []int64{-1}, []int64{largeBound}, []int64{1}, nil))
			g.Output("first", g.Slice(x, []int64{0, 1}, []int64{2, 2}, []int64{1, 2}, nil))
		}},
		{name: "Split", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(6))
			parts := g.Split(x, 1, 2, 3, 1)
			g.Output("a", g.Mul(parts[0], parts[0]))
			g.Output("c", parts[2])
		}},
		{name: "Squeeze Unsqueeze", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(1), D(3))
			s := g.Squeeze(x, 1)
			g.Output("s", g.Mul(s, s))
			g.Output("u", g.Unsqueeze(s, 0, -1))
		}},
		{name: "Expand", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, D(3), D(1))
			like := g.Input("like", Float64, bDim, D(3), D(4))
			e := g.Expand(x, g.ShapeOf(like))
			g.Output("e", g.Mul(e, like))
		}},
		{name: "Trilu", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(4), D(4))
			g.Output("lower", g.Trilu(x, false, 0))
			g.Output("upper", g.Trilu(x, true, 1))
		}},
		{name: "CumSum", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(4))
			g.Output("c", g.CumSum(x, 1))
			g.Output("c0", g.CumSum(x, 0))
		}},
		{name: "anonymous dims from run-time shapes", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(6))
			shape := g.Input("shape", Int64, D(3))
			y := g.ReshapeTo(x, shape) // [?, ?, ?]
			g.Output("cat", g.Concat(1, y, g.Mul(y, y)))
			s := g.Input("s", Float64, D(3), D(1))
			target := g.Input("target", Int64, D(3))
			g.Output("expanded", g.Expand(s, target))
		}, data: map[string]*ort.Tensor{
			"shape":  ort.I64Tensor([]int64{3, 2, 2}, 3),
			"target": ort.I64Tensor([]int64{2, 3, 4}, 3),
		}},
		{name: "integer path and unused input", dims: batch, build: func(g *Graph) {
			x := g.Input("x", Float64, bDim, D(3))
			g.Input("unused", Float64, D(2))
			n := g.Cast(g.ReduceSum(g.Cast(x, Int64), nil, false), Float64)
			g.Output("y", g.Add(g.Mul(x, x), n))
		}, lo: 0.2, hi: 0.8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrad(t, c) })
	}
}
