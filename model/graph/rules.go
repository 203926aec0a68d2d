package graph

import (
	"fmt"
	"slices"
)

// ruleCtx is what a gradient rule sees: the forward node, the gradients of its outputs (nil
// where none arrived) and the backward graph to build in.
type ruleCtx struct {
	*vjp
	n  *node
	g  *Graph
	dy []*Value
}

// rule returns the gradient of each input of c.n (nil for none).
type rule func(c *ruleCtx) ([]*Value, error)

// x returns forward input i in the backward graph.
func (c *ruleCtx) x(i int) *Value { return c.val(c.n.inputs[i]) }

// y returns forward output j in the backward graph.
func (c *ruleCtx) y(j int) *Value { return c.val(c.n.outputs[j]) }

// wants reports whether input i needs a gradient.
func (c *ruleCtx) wants(i int) bool {
	return i < len(c.n.inputs) && c.n.inputs[i] != nil && c.active[c.n.inputs[i]]
}

// shape returns the shape of forward input i.
func (c *ruleCtx) shape(i int) []Dim { return c.n.inputs[i].shape }

// like returns a scalar constant of the gradient's dtype.
func (c *ruleCtx) like(x float64) *Value { return c.g.Scalar(c.dy[0].dtype, x) }

// unbroadcast sums d over the axes broadcasting added to an operand of input i's shape.
func (c *ruleCtx) unbroadcast(d *Value, i int) *Value {
	if !c.wants(i) {
		return nil
	}
	return unbroadcast(c.g, d, c.shape(i))
}

func unbroadcast(g *Graph, d *Value, target []Dim) *Value {
	lead := d.Rank() - len(target)
	var axes []int64
	inner := false
	for i, dd := range d.shape {
		switch {
		case i < lead:
			if !dd.isOne() {
				axes = append(axes, int64(i))
			}
		case target[i-lead].isOne() && !dd.isOne():
			axes = append(axes, int64(i))
			inner = true
		}
	}
	leading := make([]int64, lead)
	for i := range leading {
		leading[i] = int64(i)
	}
	switch {
	case inner:
		r := g.ReduceSum(d, axes, true)
		if lead > 0 {
			r = g.Squeeze(r, leading...)
		}
		return r
	case len(axes) > 0:
		return g.ReduceSum(d, leading, false)
	case lead > 0:
		return g.Squeeze(d, leading...)
	}
	return d
}

// reshapeDims reshapes x to dims, with a constant shape when at most one dim must be inferred.
func (g *Graph) reshapeDims(x *Value, dims []Dim) *Value {
	if slices.Equal(x.shape, dims) {
		return x
	}
	spec := make([]int64, len(dims))
	inferred := -1
	constant := true
	for i, d := range dims {
		switch {
		case i < x.Rank() && x.shape[i] == d && !d.IsStatic():
			spec[i] = 0
		case d.IsStatic() && d.Size > 0:
			spec[i] = d.Size
		case !d.IsStatic() && inferred < 0:
			spec[i] = -1
			inferred = i
		default:
			constant = false
		}
	}
	if constant {
		return g.add1("Reshape", []*Value{x, g.ConstI64(spec)}, nil, x.dtype, dims, nil)
	}
	return g.add1("Reshape", []*Value{x, g.shapeTensor(dims)}, map[string]any{"allowzero": int64(1)}, x.dtype, dims, nil)
}

// constInts returns the build-time contents of the optional int64 input i (nil if absent).
func (c *ruleCtx) constInts(i int, what string) ([]int64, bool, error) {
	if i >= len(c.n.inputs) || c.n.inputs[i] == nil {
		return nil, false, nil
	}
	v, ok := knownInts(c.n.inputs[i])
	if !ok {
		return nil, false, fmt.Errorf("%s must be known when the graph is built", what)
	}
	return v, true, nil
}

// rules maps op types to their gradient rules.
var rules = map[string]rule{
	"Identity": func(c *ruleCtx) ([]*Value, error) { return []*Value{c.dy[0]}, nil },
	"Neg":      func(c *ruleCtx) ([]*Value, error) { return []*Value{c.g.Neg(c.dy[0])}, nil },
	"Add": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.unbroadcast(c.dy[0], 0), c.unbroadcast(c.dy[0], 1)}, nil
	},
	"Sub": func(c *ruleCtx) ([]*Value, error) {
		var db *Value
		if c.wants(1) {
			db = c.unbroadcast(c.g.Neg(c.dy[0]), 1)
		}
		return []*Value{c.unbroadcast(c.dy[0], 0), db}, nil
	},
	"Mul": func(c *ruleCtx) ([]*Value, error) {
		if c.n.inputs[0] == c.n.inputs[1] { // x², one contribution: 2·x·dy
			return []*Value{c.g.Mul(c.g.Mul(c.dy[0], c.x(0)), c.like(2))}, nil
		}
		var da, db *Value
		if c.wants(0) {
			da = c.unbroadcast(c.g.Mul(c.dy[0], c.x(1)), 0)
		}
		if c.wants(1) {
			db = c.unbroadcast(c.g.Mul(c.x(0), c.dy[0]), 1)
		}
		return []*Value{da, db}, nil
	},
	"Div":        divRule,
	"Pow":        powRule,
	"Exp":        func(c *ruleCtx) ([]*Value, error) { return []*Value{c.g.Mul(c.dy[0], c.y(0))}, nil },
	"Log":        func(c *ruleCtx) ([]*Value, error) { return []*Value{c.g.Div(c.dy[0], c.x(0))}, nil },
	"Sqrt":       sqrtRule,
	"Reciprocal": reciprocalRule,
	"Sigmoid":    sigmoidRule,
	"Tanh":       tanhRule,
	"Relu": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.g.Where(c.g.Greater(c.x(0), c.like(0)), c.dy[0], c.like(0))}, nil
	},
	"Abs":  func(c *ruleCtx) ([]*Value, error) { return []*Value{c.g.Mul(c.dy[0], c.g.Sign(c.x(0)))}, nil },
	"Sign": func(c *ruleCtx) ([]*Value, error) { return nil, nil }, // zero almost everywhere
	"Cos": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.g.Neg(c.g.Mul(c.dy[0], c.g.Sin(c.x(0))))}, nil
	},
	"Sin": func(c *ruleCtx) ([]*Value, error) { return []*Value{c.g.Mul(c.dy[0], c.g.Cos(c.x(0)))}, nil },
	"Cast": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.g.Cast(c.dy[0], c.n.inputs[0].dtype)}, nil
	},
	"Max":        func(c *ruleCtx) ([]*Value, error) { return minMaxRule(c, "Greater") },
	"Min":        func(c *ruleCtx) ([]*Value, error) { return minMaxRule(c, "Less") },
	"Where":      whereRule,
	"Softmax":    softmaxRule,
	"LogSoftmax": logSoftmaxRule,
	"ReduceSum":  func(c *ruleCtx) ([]*Value, error) { return reduceRule(c, false) },
	"ReduceMean": func(c *ruleCtx) ([]*Value, error) { return reduceRule(c, true) },
	"ReduceMax":  reduceMaxRule,
	"MatMul":     matMulRule,
	"Gemm":       gemmRule,
	"Gather":     gatherRule,
	"Reshape": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.g.reshapeDims(c.dy[0], c.shape(0))}, nil
	},
	"Transpose": func(c *ruleCtx) ([]*Value, error) {
		perm, ok := c.n.attrs["perm"].([]int64)
		if !ok {
			perm = make([]int64, len(c.shape(0)))
			for i := range perm {
				perm[i] = int64(len(perm) - 1 - i)
			}
		}
		return []*Value{transposeGrad(c.g, c.dy[0], invertPerm(perm))}, nil
	},
	"Concat":    concatRule,
	"Split":     splitRule,
	"Squeeze":   squeezeRule,
	"Unsqueeze": unsqueezeRule,
	"Expand": func(c *ruleCtx) ([]*Value, error) {
		return []*Value{c.unbroadcast(c.dy[0], 0)}, nil
	},
	"Trilu":  triluRule,
	"CumSum": cumSumRule,
}

func divRule(c *ruleCtx) ([]*Value, error) {
	t := c.g.Div(c.dy[0], c.x(1))
	var db *Value
	if c.wants(1) {
		db = c.unbroadcast(c.g.Neg(c.g.Mul(t, c.y(0))), 1)
	}
	return []*Value{c.unbroadcast(t, 0), db}, nil
}

func powRule(c *ruleCtx) ([]*Value, error) {
	if c.wants(1) {
		return nil, fmt.Errorf("the exponent must be a constant (no gradient flows into it)")
	}
	p, ok := constFloat(c.n.inputs[1])
	if !ok {
		return nil, fmt.Errorf("the exponent must be a scalar constant")
	}
	d := c.dy[0]
	var dx *Value
	switch p {
	case 0:
		return nil, nil
	case 1:
		dx = d
	case 2:
		dx = c.g.Mul(d, c.g.Mul(c.x(0), c.like(2)))
	default:
		dx = c.g.Mul(d, c.g.Mul(c.g.Pow(c.x(0), p-1), c.like(p)))
	}
	return []*Value{c.unbroadcast(dx, 0)}, nil
}

func sqrtRule(c *ruleCtx) ([]*Value, error) {
	// d/dx sqrt(x) = 0.5 / sqrt(x)
	return []*Value{c.g.Div(c.g.Mul(c.dy[0], c.like(0.5)), c.y(0))}, nil
}

func reciprocalRule(c *ruleCtx) ([]*Value, error) {
	// d/dx 1/x = -y²
	y := c.y(0)
	return []*Value{c.g.Neg(c.g.Mul(c.dy[0], c.g.Mul(y, y)))}, nil
}

func sigmoidRule(c *ruleCtx) ([]*Value, error) {
	// σ' = σ(1-σ)
	y := c.y(0)
	return []*Value{c.g.Mul(c.dy[0], c.g.Mul(y, c.g.Sub(c.like(1), y)))}, nil
}

func tanhRule(c *ruleCtx) ([]*Value, error) {
	// tanh' = 1 - tanh²
	y := c.y(0)
	return []*Value{c.g.Mul(c.dy[0], c.g.Sub(c.like(1), c.g.Mul(y, y)))}, nil
}

// minMaxRule routes the gradient to the winning operand; ties split it evenly. wins is the
// comparison under which input 0 wins ("Greater" for Max, "Less" for Min).
func minMaxRule(c *ruleCtx, wins string) ([]*Value, error) {
	if len(c.n.inputs) != 2 {
		return nil, fmt.Errorf("only the two-operand form has a gradient rule")
	}
	a, b := c.x(0), c.x(1)
	dt := c.dy[0].dtype
	var first *Value
	if wins == "Greater" {
		first = c.g.Greater(a, b)
	} else {
		first = c.g.Less(a, b)
	}
	// share of input 0: 1 where it wins, 1/2 on ties, 0 where it loses.
	share := c.g.Add(c.g.Cast(first, dt), c.g.Mul(c.g.Cast(c.g.Equal(a, b), dt), c.like(0.5)))
	var da, db *Value
	if c.wants(0) {
		da = c.unbroadcast(c.g.Mul(c.dy[0], share), 0)
	}
	if c.wants(1) {
		db = c.unbroadcast(c.g.Mul(c.dy[0], c.g.Sub(c.like(1), share)), 1)
	}
	return []*Value{da, db}, nil
}

func whereRule(c *ruleCtx) ([]*Value, error) {
	cond, zero := c.x(0), c.like(0)
	var da, db *Value
	if c.wants(1) {
		da = c.unbroadcast(c.g.Where(cond, c.dy[0], zero), 1)
	}
	if c.wants(2) {
		db = c.unbroadcast(c.g.Where(cond, zero, c.dy[0]), 2)
	}
	return []*Value{nil, da, db}, nil
}

func softmaxRule(c *ruleCtx) ([]*Value, error) {
	// dx = y ⊙ (dy - Σ dy⊙y)
	axis := c.n.attrInt("axis", -1)
	y, d := c.y(0), c.dy[0]
	s := c.g.ReduceSum(c.g.Mul(d, y), []int64{axis}, true)
	return []*Value{c.g.Mul(y, c.g.Sub(d, s))}, nil
}

func logSoftmaxRule(c *ruleCtx) ([]*Value, error) {
	// dx = dy - e^y ⊙ Σ dy
	axis := c.n.attrInt("axis", -1)
	y, d := c.y(0), c.dy[0]
	s := c.g.ReduceSum(d, []int64{axis}, true)
	return []*Value{c.g.Sub(d, c.g.Mul(c.g.Exp(y), s))}, nil
}

// reduceAxes returns the normalised axes a Reduce* node reduced over (nil for none).
func reduceAxes(c *ruleCtx) ([]int64, error) {
	rank := len(c.shape(0))
	axes, present, err := c.constInts(1, "reduction axes")
	if err != nil {
		return nil, err
	}
	if !present || len(axes) == 0 {
		if c.n.attrInt("noop_with_empty_axes", 0) != 0 {
			return nil, nil
		}
		return normAxes(nil, rank)
	}
	return normAxes(axes, rank)
}

// keptDims reshapes a reduction's output gradient to the keepdims form.
func keptDims(c *ruleCtx, d *Value, axes []int64) *Value {
	if c.n.attrInt("keepdims", 1) != 0 || len(axes) == 0 {
		return d
	}
	return c.g.Unsqueeze(d, axes...)
}

func reduceRule(c *ruleCtx, mean bool) ([]*Value, error) {
	axes, err := reduceAxes(c)
	if err != nil {
		return nil, err
	}
	d := keptDims(c, c.dy[0], axes)
	if mean && len(axes) > 0 {
		var reduced []Dim
		for _, a := range axes {
			reduced = append(reduced, c.shape(0)[a])
		}
		d = c.g.Div(d, c.g.numel(reduced, d.dtype))
	}
	return []*Value{c.g.Expand(d, c.g.shapeTensor(c.shape(0)))}, nil
}

func reduceMaxRule(c *ruleCtx) ([]*Value, error) {
	axes, err := reduceAxes(c)
	if err != nil {
		return nil, err
	}
	d := keptDims(c, c.dy[0], axes)
	if len(axes) == 0 {
		return []*Value{d}, nil
	}
	x := c.x(0)
	mask := c.g.Cast(c.g.Equal(x, keptDims(c, c.y(0), axes)), x.dtype)
	count := c.g.ReduceSum(mask, axes, true)
	return []*Value{c.g.Mul(mask, c.g.Div(d, count))}, nil
}

// swapLast transposes the last two axes.
func swapLast(g *Graph, x *Value) *Value {
	perm := make([]int64, x.Rank())
	for i := range perm {
		perm[i] = int64(i)
	}
	r := len(perm)
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	return g.Transpose(x, perm...)
}

func matMulRule(c *ruleCtx) ([]*Value, error) {
	g := c.g
	ra, rb := len(c.shape(0)), len(c.shape(1))
	d := c.dy[0]
	// Promote vectors to matrices: a [K] -> [1,K], b [K] -> [K,1].
	if rb == 1 {
		d = g.Unsqueeze(d, -1)
	}
	if ra == 1 {
		d = g.Unsqueeze(d, -2)
	}
	operand := func(i int) *Value {
		v := c.x(i)
		switch {
		case i == 0 && ra == 1:
			return g.Unsqueeze(v, 0)
		case i == 1 && rb == 1:
			return g.Unsqueeze(v, 1)
		}
		return v
	}
	pa, pb := max(ra, 2), max(rb, 2)
	var da, db *Value
	if c.wants(0) {
		b := operand(1)
		if pa == 2 && pb == 2 {
			da = g.Gemm(d, b, nil, false, true)
		} else {
			da = g.MatMul(d, swapLast(g, b))
		}
		aShape := c.shape(0)
		if ra == 1 {
			aShape = []Dim{D(1), aShape[0]}
		}
		da = unbroadcast(g, da, aShape)
		if ra == 1 {
			da = g.Squeeze(da, 0)
		}
	}
	if c.wants(1) {
		a := operand(0)
		switch {
		case pa == 2 && pb == 2:
			db = g.Gemm(a, d, nil, true, false)
		case pb == 2:
			// A linear layer: fold a's batch dims into rows for one matrix product.
			k, n := a.shape[a.Rank()-1], d.shape[d.Rank()-1]
			rows := dimProduct(a.shape[:a.Rank()-1])
			db = g.Gemm(g.reshapeDims(a, []Dim{rows, k}), g.reshapeDims(d, []Dim{rows, n}), nil, true, false)
		default:
			bShape := c.shape(1)
			db = unbroadcast(g, g.MatMul(swapLast(g, a), d), bShape)
		}
		if rb == 1 {
			db = g.Squeeze(db, 1)
		}
	}
	return []*Value{da, db}, nil
}

func gemmRule(c *ruleCtx) ([]*Value, error) {
	g := c.g
	transA, transB := c.n.attrInt("transA", 0) != 0, c.n.attrInt("transB", 0) != 0
	alpha, beta := float64(1), float64(1)
	if f, ok := c.n.attrs["alpha"].(float32); ok {
		alpha = float64(f)
	}
	if f, ok := c.n.attrs["beta"].(float32); ok {
		beta = float64(f)
	}
	d := c.dy[0]
	scale := func(v *Value, s float64) *Value {
		if s == 1 {
			return v
		}
		return g.Mul(v, c.like(s))
	}
	var da, db, dc *Value
	if c.wants(0) {
		if transA {
			da = g.Gemm(c.x(1), d, nil, transB, true)
		} else {
			da = g.Gemm(d, c.x(1), nil, false, !transB)
		}
		da = scale(da, alpha)
	}
	if c.wants(1) {
		if transB {
			db = g.Gemm(d, c.x(0), nil, true, transA)
		} else {
			db = g.Gemm(c.x(0), d, nil, !transA, false)
		}
		db = scale(db, alpha)
	}
	if c.wants(2) {
		dc = c.unbroadcast(scale(d, beta), 2)
	}
	return []*Value{da, db, dc}, nil
}

// gatherRule scatters the gradient back to the gathered rows (a scatter with addition into
// zeros, so repeated indices accumulate).
func gatherRule(c *ruleCtx) ([]*Value, error) {
	g := c.g
	data := c.n.inputs[0]
	axis := int(c.n.attrInt("axis", 0))
	r := data.Rank()
	idx := c.x(1)
	if idx.dtype != Int64 {
		idx = g.Cast(idx, Int64)
	}
	q := idx.Rank()
	d := c.dy[0]
	if axis > 0 {
		// Bring the index dims to the front: [idx..., data[:axis]..., data[axis+1:]...].
		var perm []int64
		for i := axis; i < axis+q; i++ {
			perm = append(perm, int64(i))
		}
		for i := 0; i < axis; i++ {
			perm = append(perm, int64(i))
		}
		for i := axis + q; i < r-1+q; i++ {
			perm = append(perm, int64(i))
		}
		d = g.Transpose(d, perm...)
	}
	// Scatter-add the rows of d, flattened to [N, M] (N gathered rows of M values), into
	// [data.shape[axis], M]. ScatterElements is used rather than ScatterND: ONNX Runtime's CPU
	// ScatterND adds in parallel without atomics, so repeated indices (the same token twice in
	// a batch) lose updates at random; its ScatterElements adds in order.
	rest := slices.Concat(data.shape[:axis], data.shape[axis+1:])
	zshape := slices.Concat([]Dim{data.shape[axis]}, rest)
	rows, cols := dimProduct(idx.shape), dimProduct(rest)
	d2 := g.ReshapeTo(d, g.shapeTensor([]Dim{rows, cols}))
	ids := g.Expand(g.ReshapeTo(idx, g.shapeTensor([]Dim{rows, D(1)})), g.ShapeOf(d2))
	if axis == 0 {
		// Into data's other gradient contributions (or accumulator) when it has some.
		c.scatters[data] = append(c.scatters[data], scatterAdd{ids: ids, updates: d2, rows: data.shape[0], cols: cols})
		return nil, nil
	}
	zeros := g.zeros(d.dtype, []Dim{data.shape[axis], cols})
	sum := g.add1("ScatterElements", []*Value{zeros, ids, d2}, map[string]any{"axis": int64(0), "reduction": "add"}, d.dtype, []Dim{data.shape[axis], cols}, nil)
	dx := g.ReshapeTo(sum, g.shapeTensor(zshape))
	if axis > 0 {
		var perm []int64
		for i := 1; i <= axis; i++ {
			perm = append(perm, int64(i))
		}
		perm = append(perm, 0)
		for i := axis + 1; i < r; i++ {
			perm = append(perm, int64(i))
		}
		dx = g.Transpose(dx, perm...)
	}
	return []*Value{dx}, nil
}

// transposeGrad transposes a gradient. A gradient is used once, so when it comes fresh from a
// product or a transpose the transposition can move into that node instead of costing a copy:
// (AB)ᵀ = BᵀAᵀ for Gemm and for MatMul with the last two axes swapped, and two transposes
// compose into one.
func transposeGrad(g *Graph, d *Value, perm []int64) *Value {
	n := d.node
	switch {
	case n == nil:
	case n.op == "Gemm" && len(perm) == 2 && len(n.inputs) == 2 && n.attrs["alpha"] == nil:
		return g.Gemm(n.inputs[1], n.inputs[0], nil, n.attrInt("transB", 0) == 0, n.attrInt("transA", 0) == 0)
	case n.op == "MatMul" && isLastSwap(perm) && n.inputs[0].Rank() >= 2 && n.inputs[1].Rank() >= 2:
		return g.MatMul(swapLast(g, n.inputs[1]), swapLast(g, n.inputs[0]))
	case n.op == "Transpose":
		if inner, ok := transposePerm(d); ok {
			composed := make([]int64, len(perm))
			for i, p := range perm {
				composed[i] = inner[p]
			}
			return g.Transpose(n.inputs[0], composed...)
		}
	}
	return g.Transpose(d, perm...)
}

// isLastSwap reports whether perm swaps the last two axes and keeps the others.
func isLastSwap(perm []int64) bool {
	r := len(perm)
	if r < 2 || perm[r-1] != int64(r-2) || perm[r-2] != int64(r-1) {
		return false
	}
	return isIdentityPerm(perm[:r-2])
}

func concatRule(c *ruleCtx) ([]*Value, error) {
	g := c.g
	axis := int(c.n.attrInt("axis", 0))
	dims := make([]Dim, len(c.n.inputs))
	for i, in := range c.n.inputs {
		dims[i] = in.shape[axis]
	}
	return g.split(c.dy[0], axis, dims, g.shapeTensor(dims)), nil
}

// splitRule concatenates the pieces' gradients. Missing pieces at either end become a Pad
// (a slice's gradient), missing pieces between present ones zeros.
func splitRule(c *ruleCtx) ([]*Value, error) {
	g := c.g
	axis := int(c.n.attrInt("axis", 0))
	first := slices.IndexFunc(c.dy, func(d *Value) bool { return d != nil })
	last := len(c.dy) - 1
	for c.dy[last] == nil {
		last--
	}
	var pieces []*Value
	for j := first; j <= last; j++ {
		d := c.dy[j]
		if d == nil {
			o := c.n.outputs[j]
			d = g.zeros(o.dtype, o.shape)
		}
		pieces = append(pieces, d)
	}
	d := pieces[0]
	if len(pieces) > 1 {
		d = g.Concat(int64(axis), pieces...)
	}
	if first == 0 && last == len(c.dy)-1 {
		return []*Value{d}, nil
	}
	// Pad takes every axis (ONNX Runtime's transpose optimizer mishandles Pad's axes input).
	x := c.n.inputs[0]
	before, after := make([]Dim, x.Rank()), make([]Dim, x.Rank())
	for i := range before {
		before[i], after[i] = D(0), D(0)
	}
	for j := 0; j < first; j++ {
		before[axis] = dimAdd(before[axis], c.n.outputs[j].shape[axis])
	}
	for j := last + 1; j < len(c.dy); j++ {
		after[axis] = dimAdd(after[axis], c.n.outputs[j].shape[axis])
	}
	shape := slices.Clone(d.shape)
	shape[axis] = x.shape[axis]
	return []*Value{g.add1("Pad", []*Value{d, g.shapeTensor(slices.Concat(before, after))}, nil, d.dtype, shape, nil)}, nil
}

func squeezeRule(c *ruleCtx) ([]*Value, error) {
	axes, present, err := c.constInts(1, "squeeze axes")
	if err != nil {
		return nil, err
	}
	if !present {
		return []*Value{c.g.reshapeDims(c.dy[0], c.shape(0))}, nil
	}
	return []*Value{c.g.Unsqueeze(c.dy[0], axes...)}, nil
}

func unsqueezeRule(c *ruleCtx) ([]*Value, error) {
	axes, present, err := c.constInts(1, "unsqueeze axes")
	if err != nil {
		return nil, err
	}
	if !present {
		return []*Value{c.g.reshapeDims(c.dy[0], c.shape(0))}, nil
	}
	return []*Value{c.g.Squeeze(c.dy[0], axes...)}, nil
}

func triluRule(c *ruleCtx) ([]*Value, error) {
	inputs := []*Value{c.dy[0]}
	if len(c.n.inputs) > 1 && c.n.inputs[1] != nil {
		inputs = append(inputs, c.x(1))
	}
	return []*Value{c.g.add1("Trilu", inputs, c.n.attrs, c.dy[0].dtype, c.dy[0].shape, nil)}, nil
}

func cumSumRule(c *ruleCtx) ([]*Value, error) {
	attrs := map[string]any{"reverse": 1 - c.n.attrInt("reverse", 0)}
	if e := c.n.attrInt("exclusive", 0); e != 0 {
		attrs["exclusive"] = e
	}
	return []*Value{c.g.add1("CumSum", []*Value{c.dy[0], c.x(1)}, attrs, c.dy[0].dtype, c.dy[0].shape, nil)}, nil
}
