package graph

import (
	"fmt"
	"slices"
)

// Elementwise arithmetic. Operands share a dtype and broadcast numpy-style, where two dims
// broadcast only when they are equal (same static size or same symbol) or one is static 1.

// Add returns a + b.
func (g *Graph) Add(a, b *Value) *Value { return g.arith("Add", a, b) }

// Sub returns a - b.
func (g *Graph) Sub(a, b *Value) *Value { return g.arith("Sub", a, b) }

// Mul returns a * b.
func (g *Graph) Mul(a, b *Value) *Value { return g.arith("Mul", a, b) }

// Div returns a / b (integer division truncates, as in ONNX).
func (g *Graph) Div(a, b *Value) *Value { return g.arith("Div", a, b) }

// Max returns the elementwise maximum of a and b.
func (g *Graph) Max(a, b *Value) *Value { return g.arith("Max", a, b) }

// Min returns the elementwise minimum of a and b.
func (g *Graph) Min(a, b *Value) *Value { return g.arith("Min", a, b) }

// Pow returns x^p for a constant exponent p.
func (g *Graph) Pow(x *Value, p float64) *Value {
	if !g.ok("Pow", x) {
		return g.invalid(dtypeOf(x))
	}
	if !x.dtype.IsFloat() {
		g.fail("Pow", "needs a float base, got %v", x.dtype)
		return g.invalid(x.dtype)
	}
	return g.add1("Pow", []*Value{x, g.Scalar(x.dtype, p)}, nil, x.dtype, x.shape, nil)
}

// Equal returns a == b as Bool.
func (g *Graph) Equal(a, b *Value) *Value { return g.compare("Equal", a, b) }

// Less returns a < b as Bool.
func (g *Graph) Less(a, b *Value) *Value { return g.compare("Less", a, b) }

// Greater returns a > b as Bool.
func (g *Graph) Greater(a, b *Value) *Value { return g.compare("Greater", a, b) }

// LessOrEqual returns a <= b as Bool.
func (g *Graph) LessOrEqual(a, b *Value) *Value { return g.compare("LessOrEqual", a, b) }

// GreaterOrEqual returns a >= b as Bool.
func (g *Graph) GreaterOrEqual(a, b *Value) *Value { return g.compare("GreaterOrEqual", a, b) }

// And returns the logical and of Bool tensors.
func (g *Graph) And(a, b *Value) *Value { return g.logic("And", a, b) }

// Or returns the logical or of Bool tensors.
func (g *Graph) Or(a, b *Value) *Value { return g.logic("Or", a, b) }

// Not returns the logical negation of a Bool tensor.
func (g *Graph) Not(x *Value) *Value {
	if !g.ok("Not", x) {
		return g.invalid(Bool)
	}
	if x.dtype != Bool {
		g.fail("Not", "needs bool, got %v", x.dtype)
		return g.invalid(Bool)
	}
	return g.add1("Not", []*Value{x}, nil, Bool, x.shape, nil)
}

func (g *Graph) broadcast(op string, vs ...*Value) ([]Dim, bool) {
	shapes := make([][]Dim, len(vs))
	for i, v := range vs {
		shapes[i] = v.shape
	}
	out, err := broadcastShapes(shapes...)
	if err != nil {
		g.fail(op, "%v", err)
		return nil, false
	}
	return out, true
}

func (g *Graph) sameDType(op string, a, b *Value) bool {
	if a.dtype != b.dtype {
		g.fail(op, "dtype mismatch: %s vs %s (use Cast)", a, b)
		return false
	}
	return true
}

func (g *Graph) arith(op string, a, b *Value) *Value {
	if !g.ok(op, a, b) || !g.sameDType(op, a, b) {
		return g.invalid(dtypeOf(a))
	}
	if a.dtype == Bool {
		g.fail(op, "needs numbers, got bool")
		return g.invalid(a.dtype)
	}
	shape, ok := g.broadcast(op, a, b)
	if !ok {
		return g.invalid(a.dtype)
	}
	return g.add1(op, []*Value{a, b}, nil, a.dtype, shape, knownArith(op, a, b, shape))
}

// knownArith folds int64 arithmetic on tensors whose contents are known (shape arithmetic).
func knownArith(op string, a, b *Value, shape []Dim) []Dim {
	if a.dtype != Int64 || a.known == nil || b.known == nil || len(shape) > 1 {
		return nil
	}
	n := 1
	if len(shape) == 1 {
		if !shape[0].IsStatic() {
			return nil
		}
		n = int(shape[0].Size)
	}
	at := func(k []Dim, i int) Dim {
		if len(k) == 1 {
			return k[0]
		}
		return k[i]
	}
	out := make([]Dim, n)
	for i := range out {
		x, y := at(a.known, i), at(b.known, i)
		switch op {
		case "Add":
			out[i] = dimAdd(x, y)
		case "Sub":
			out[i] = dimSub(x, y)
		case "Mul":
			out[i] = dimMul(x, y)
		case "Div":
			out[i] = dimDiv(x, y)
		default:
			return nil
		}
	}
	return out
}

func (g *Graph) compare(op string, a, b *Value) *Value {
	if !g.ok(op, a, b) || !g.sameDType(op, a, b) {
		return g.invalid(Bool)
	}
	shape, ok := g.broadcast(op, a, b)
	if !ok {
		return g.invalid(Bool)
	}
	return g.add1(op, []*Value{a, b}, nil, Bool, shape, nil)
}

func (g *Graph) logic(op string, a, b *Value) *Value {
	if !g.ok(op, a, b) {
		return g.invalid(Bool)
	}
	if a.dtype != Bool || b.dtype != Bool {
		g.fail(op, "needs bool operands, got %v and %v", a.dtype, b.dtype)
		return g.invalid(Bool)
	}
	shape, ok := g.broadcast(op, a, b)
	if !ok {
		return g.invalid(Bool)
	}
	return g.add1(op, []*Value{a, b}, nil, Bool, shape, nil)
}

// Unary elementwise functions.

// Neg returns -x.
func (g *Graph) Neg(x *Value) *Value { return g.unary("Neg", x, false) }

// Abs returns |x|.
func (g *Graph) Abs(x *Value) *Value { return g.unary("Abs", x, false) }

// Sign returns the sign of x (-1, 0 or 1); its gradient is zero.
func (g *Graph) Sign(x *Value) *Value { return g.unary("Sign", x, false) }

// Exp returns e^x.
func (g *Graph) Exp(x *Value) *Value { return g.unary("Exp", x, true) }

// Log returns the natural logarithm of x.
func (g *Graph) Log(x *Value) *Value { return g.unary("Log", x, true) }

// Sqrt returns the square root of x.
func (g *Graph) Sqrt(x *Value) *Value { return g.unary("Sqrt", x, true) }

// Reciprocal returns 1/x.
func (g *Graph) Reciprocal(x *Value) *Value { return g.unary("Reciprocal", x, true) }

// Sigmoid returns 1/(1+e^-x).
func (g *Graph) Sigmoid(x *Value) *Value { return g.unary("Sigmoid", x, true) }

// Tanh returns tanh(x).
func (g *Graph) Tanh(x *Value) *Value { return g.unary("Tanh", x, true) }

// Relu returns max(x, 0).
func (g *Graph) Relu(x *Value) *Value { return g.unary("Relu", x, true) }

// Cos returns cos(x).
func (g *Graph) Cos(x *Value) *Value { return g.unary("Cos", x, true) }

// Sin returns sin(x).
func (g *Graph) Sin(x *Value) *Value { return g.unary("Sin", x, true) }

// Identity returns a copy of x.
func (g *Graph) Identity(x *Value) *Value {
	if !g.ok("Identity", x) {
		return g.invalid(dtypeOf(x))
	}
	return g.add1("Identity", []*Value{x}, nil, x.dtype, x.shape, x.known)
}

func (g *Graph) unary(op string, x *Value, floatOnly bool) *Value {
	if !g.ok(op, x) {
		return g.invalid(dtypeOf(x))
	}
	if x.dtype == Bool || floatOnly && !x.dtype.IsFloat() {
		g.fail(op, "needs a float operand, got %s", x)
		return g.invalid(x.dtype)
	}
	return g.add1(op, []*Value{x}, nil, x.dtype, x.shape, nil)
}

// Cast converts x to dt.
func (g *Graph) Cast(x *Value, dt DType) *Value {
	if !g.ok("Cast", x) {
		return g.invalid(dt)
	}
	if !dt.Valid() {
		g.fail("Cast", "unsupported dtype %v", dt)
		return g.invalid(dt)
	}
	var known []Dim
	if dt == Int64 {
		known = x.known
	}
	return g.add1("Cast", []*Value{x}, map[string]any{"to": int64(dt)}, dt, x.shape, known)
}

// Where returns cond ? a : b, broadcasting all three.
func (g *Graph) Where(cond, a, b *Value) *Value {
	if !g.ok("Where", cond, a, b) || !g.sameDType("Where", a, b) {
		return g.invalid(dtypeOf(a))
	}
	if cond.dtype != Bool {
		g.fail("Where", "condition must be bool, got %s", cond)
		return g.invalid(a.dtype)
	}
	shape, ok := g.broadcast("Where", cond, a, b)
	if !ok {
		return g.invalid(a.dtype)
	}
	return g.add1("Where", []*Value{cond, a, b}, nil, a.dtype, shape, nil)
}

// MatMul returns the matrix product with numpy semantics: batch dims broadcast, a rank-1
// first operand is a row vector and a rank-1 second operand a column vector (dropped after).
func (g *Graph) MatMul(a, b *Value) *Value {
	if !g.ok("MatMul", a, b) || !g.sameDType("MatMul", a, b) {
		return g.invalid(dtypeOf(a))
	}
	shape, err := matmulShape(a.shape, b.shape)
	if err != nil {
		g.fail("MatMul", "%s @ %s: %v", a, b, err)
		return g.invalid(a.dtype)
	}
	return g.add1("MatMul", []*Value{a, b}, nil, a.dtype, shape, nil)
}

func matmulShape(a, b []Dim) ([]Dim, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("operands need rank >= 1")
	}
	aa, bb := a, b
	if len(a) == 1 {
		aa = []Dim{D(1), a[0]}
	}
	if len(b) == 1 {
		bb = []Dim{b[0], D(1)}
	}
	if aa[len(aa)-1] != bb[len(bb)-2] {
		return nil, fmt.Errorf("inner dims differ: %s vs %s", aa[len(aa)-1], bb[len(bb)-2])
	}
	batch, err := broadcastShapes(aa[:len(aa)-2], bb[:len(bb)-2])
	if err != nil {
		return nil, err
	}
	out := slices.Concat(batch, []Dim{aa[len(aa)-2], bb[len(bb)-1]})
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	if len(a) == 1 {
		out = slices.Delete(out, len(batch), len(batch)+1)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Gemm returns op(a) @ op(b) + c for matrices, where op transposes when asked; c may be nil
// and broadcasts to the result.
func (g *Graph) Gemm(a, b, c *Value, transA, transB bool) *Value {
	operands := []*Value{a, b}
	if c != nil {
		operands = append(operands, c)
	}
	if !g.ok("Gemm", operands...) || !g.sameDType("Gemm", a, b) {
		return g.invalid(dtypeOf(a))
	}
	if a.Rank() != 2 || b.Rank() != 2 {
		g.fail("Gemm", "needs matrices, got %s and %s", a, b)
		return g.invalid(a.dtype)
	}
	m, k := a.shape[0], a.shape[1]
	if transA {
		m, k = k, m
	}
	k2, n := b.shape[0], b.shape[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		g.fail("Gemm", "inner dims differ: %s vs %s", k, k2)
		return g.invalid(a.dtype)
	}
	out := []Dim{m, n}
	attrs := map[string]any{}
	if transA {
		attrs["transA"] = int64(1)
	}
	if transB {
		attrs["transB"] = int64(1)
	}
	if c != nil {
		if !g.sameDType("Gemm", a, c) {
			return g.invalid(a.dtype)
		}
		if bc, err := broadcastShapes(out, c.shape); err != nil || !slices.Equal(bc, out) {
			g.fail("Gemm", "bias %s does not broadcast to %s", c, shapeString(out))
			return g.invalid(a.dtype)
		}
	}
	return g.add1("Gemm", operands, attrs, a.dtype, out, nil)
}

// Softmax normalises e^x along axis.
func (g *Graph) Softmax(x *Value, axis int64) *Value { return g.softmax("Softmax", x, axis) }

// LogSoftmax returns log(Softmax(x, axis)), computed stably.
func (g *Graph) LogSoftmax(x *Value, axis int64) *Value { return g.softmax("LogSoftmax", x, axis) }

func (g *Graph) softmax(op string, x *Value, axis int64) *Value {
	if !g.ok(op, x) {
		return g.invalid(dtypeOf(x))
	}
	if !x.dtype.IsFloat() {
		g.fail(op, "needs a float operand, got %s", x)
		return g.invalid(x.dtype)
	}
	a, err := normAxis(axis, x.Rank())
	if err != nil {
		g.fail(op, "%s: %v", x, err)
		return g.invalid(x.dtype)
	}
	return g.add1(op, []*Value{x}, map[string]any{"axis": int64(a)}, x.dtype, x.shape, nil)
}

// ReduceSum sums over axes (all axes when empty).
func (g *Graph) ReduceSum(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduce("ReduceSum", x, axes, keepDims)
}

// ReduceMean averages over axes (all axes when empty).
func (g *Graph) ReduceMean(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduce("ReduceMean", x, axes, keepDims)
}

// ReduceMax takes the maximum over axes (all axes when empty). Its gradient is shared
// equally among tied maxima.
func (g *Graph) ReduceMax(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduce("ReduceMax", x, axes, keepDims)
}

// normAxes normalises, sorts and deduplicates axes; empty means all.
func normAxes(axes []int64, rank int) ([]int64, error) {
	if len(axes) == 0 {
		out := make([]int64, rank)
		for i := range out {
			out[i] = int64(i)
		}
		return out, nil
	}
	out := make([]int64, 0, len(axes))
	for _, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		out = append(out, int64(n))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (g *Graph) reduce(op string, x *Value, axes []int64, keepDims bool) *Value {
	if !g.ok(op, x) {
		return g.invalid(dtypeOf(x))
	}
	if x.dtype == Bool {
		g.fail(op, "needs numbers, got %s", x)
		return g.invalid(x.dtype)
	}
	norm, err := normAxes(axes, x.Rank())
	if err != nil {
		g.fail(op, "%s: %v", x, err)
		return g.invalid(x.dtype)
	}
	var shape []Dim
	for i, d := range x.shape {
		switch {
		case !slices.Contains(norm, int64(i)):
			shape = append(shape, d)
		case keepDims:
			shape = append(shape, D(1))
		}
	}
	attrs := map[string]any{"keepdims": int64(boolInt(keepDims))}
	inputs := []*Value{x}
	if x.Rank() > 0 {
		inputs = append(inputs, g.ConstI64(norm))
	}
	return g.add1(op, inputs, attrs, x.dtype, shape, nil)
}

// Gather takes entries of data along axis at integer indices (numpy take); the result has
// shape data[:axis] + indices + data[axis+1:]. Negative indices count from the end.
func (g *Graph) Gather(data, indices *Value, axis int64) *Value {
	if !g.ok("Gather", data, indices) {
		return g.invalid(dtypeOf(data))
	}
	if indices.dtype != Int64 && indices.dtype != Int32 {
		g.fail("Gather", "indices must be int64 or int32, got %s", indices)
		return g.invalid(data.dtype)
	}
	a, err := normAxis(axis, data.Rank())
	if err != nil {
		g.fail("Gather", "%s: %v", data, err)
		return g.invalid(data.dtype)
	}
	shape := slices.Concat(data.shape[:a], indices.shape, data.shape[a+1:])
	var known []Dim
	if idx, ok := knownInts(indices); ok && data.known != nil && data.Rank() == 1 && indices.Rank() <= 1 {
		n := int64(len(data.known))
		for _, i := range idx {
			if i < 0 {
				i += n
			}
			if i < 0 || i >= n {
				g.fail("Gather", "index %d out of range for %s", i, data)
				return g.invalid(data.dtype)
			}
			known = append(known, data.known[i])
		}
	}
	return g.add1("Gather", []*Value{data, indices}, map[string]any{"axis": int64(a)}, data.dtype, shape, known)
}

// GatherElements picks data[..., indices[...], ...] along axis; the result has the
// indices' shape, which must match data's except on axis. Negative indices count from the end;
// an index out of range picks 0 (ONNX's GatherElements would fail at run time).
//
// It is emitted as a one-hot selection, not as GatherElements (which ONNX Runtime's CUDA
// plugin provider cannot run): with data [..., N, rest...] and indices [..., K, rest...],
// Equal(indices, 0..N-1) makes a mask [..., K, N, rest...], Where keeps data's entries under
// it and ReduceSum over N adds exactly one of them. Intermediates are K times data's size
// (K is 1 for a label pick); the gradient is a Where of the same mask, with no scatter.
func (g *Graph) GatherElements(data, indices *Value, axis int64) *Value {
	if !g.ok("GatherElements", data, indices) {
		return g.invalid(dtypeOf(data))
	}
	if indices.dtype != Int64 && indices.dtype != Int32 {
		g.fail("GatherElements", "indices must be int64 or int32, got %s", indices)
		return g.invalid(data.dtype)
	}
	if data.dtype == Bool {
		g.fail("GatherElements", "bool data is not supported (cast it to an integer type), got %s", data)
		return g.invalid(data.dtype)
	}
	if data.Rank() != indices.Rank() {
		g.fail("GatherElements", "ranks differ: %s vs %s", data, indices)
		return g.invalid(data.dtype)
	}
	a, err := normAxis(axis, data.Rank())
	if err != nil {
		g.fail("GatherElements", "%s: %v", data, err)
		return g.invalid(data.dtype)
	}
	for i := range data.shape {
		if i != a && data.shape[i] != indices.shape[i] {
			g.fail("GatherElements", "dim %d differs: %s vs %s", i, data, indices)
			return g.invalid(data.dtype)
		}
	}
	n := data.shape[a]
	trailing := data.Rank() - a - 1
	idx := indices
	if idx.dtype != Int64 {
		idx = g.Cast(idx, Int64)
	}
	size := g.shapeTensor([]Dim{n}) // int64 [1]
	idx = g.Where(g.Less(idx, g.Scalar(Int64, 0)), g.Add(idx, size), idx)
	idx = g.Unsqueeze(idx, int64(a+1)) // [..., K, 1, rest...]
	// positions 0..N-1 laid out as [N, 1 (one per trailing dim)...]
	layout := make([]int64, 1+trailing)
	for i := range layout {
		layout[i] = 1
	}
	var positions *Value
	if n.IsStatic() {
		pos := make([]int64, n.Size)
		for i := range pos {
			pos[i] = int64(i)
		}
		layout[0] = n.Size
		positions = g.ConstI64(pos, layout...)
	} else {
		positions = g.Range(g.Scalar(Int64, 0), g.Squeeze(size, 0), g.Scalar(Int64, 1))
		if trailing > 0 {
			positions = g.reshapeDims(positions, append([]Dim{n}, staticDims(layout[1:])...))
		}
	}
	onehot := g.Equal(idx, positions)                                               // [..., K, N, rest...]
	picked := g.Where(onehot, g.Unsqueeze(data, int64(a)), g.Scalar(data.dtype, 0)) // [..., K, N, rest...]
	return g.ReduceSum(picked, []int64{int64(a + 1)}, false)
}

// Reshape reshapes x with ONNX semantics: 0 copies the input dim at that position, -1 is
// inferred from the others.
func (g *Graph) Reshape(x *Value, shape ...int64) *Value {
	if !g.ok("Reshape", x) {
		return g.invalid(dtypeOf(x))
	}
	out, err := reshapeShape(x.shape, staticDims(shape))
	if err != nil {
		g.fail("Reshape", "%s to %v: %v", x, shape, err)
		return g.invalid(x.dtype)
	}
	return g.reshape(x, g.ConstI64(shape), out)
}

// ReshapeTo reshapes x to the shape held by a 1-D int64 tensor, with Reshape's semantics.
// The result's dims are exact when the tensor's contents are known to the builder (built from
// ShapeOf, constants, Gather, Slice, Concat and arithmetic), otherwise anonymous.
func (g *Graph) ReshapeTo(x, shape *Value) *Value {
	if !g.ok("ReshapeTo", x, shape) {
		return g.invalid(dtypeOf(x))
	}
	if shape.dtype != Int64 || shape.Rank() != 1 || !shape.shape[0].IsStatic() {
		g.fail("ReshapeTo", "shape must be a 1-D int64 tensor of static length, got %s", shape)
		return g.invalid(x.dtype)
	}
	spec := shape.known
	if spec == nil {
		spec = make([]Dim, shape.shape[0].Size)
		for i := range spec {
			spec[i] = unknownDim()
		}
	}
	out, err := reshapeShape(x.shape, spec)
	if err != nil {
		g.fail("ReshapeTo", "%s to %s: %v", x, shapeString(spec), err)
		return g.invalid(x.dtype)
	}
	return g.reshape(x, shape, out)
}

func (g *Graph) reshape(x, shape *Value, out []Dim) *Value {
	var known []Dim
	if x.known != nil && len(out) <= 1 {
		known = x.known
	}
	return g.add1("Reshape", []*Value{x, shape}, nil, x.dtype, out, known)
}

func containsUnknown(d Dim) bool {
	for _, a := range parseDim(d).atoms {
		if a[0] == '?' {
			return true
		}
	}
	return false
}

// reshapeShape infers a reshape's output; spec entries that are static 0 or -1 are special.
func reshapeShape(in, spec []Dim) ([]Dim, error) {
	out := make([]Dim, len(spec))
	infer := -1
	for i, s := range spec {
		switch {
		case s == D(0):
			if i >= len(in) {
				return nil, fmt.Errorf("0 at position %d copies a dim the input lacks", i)
			}
			out[i] = in[i]
		case s == D(-1):
			if infer >= 0 {
				return nil, fmt.Errorf("more than one -1")
			}
			infer = i
		case s.IsStatic() && s.Size < 0:
			return nil, fmt.Errorf("invalid size %d", s.Size)
		default:
			out[i] = s
		}
	}
	total := dimProduct(in)
	if infer >= 0 {
		rest := slices.Concat(out[:infer], out[infer+1:])
		restProd := dimProduct(rest)
		if total.IsStatic() && restProd.IsStatic() && restProd.Size != 0 && total.Size%restProd.Size != 0 {
			return nil, fmt.Errorf("%d elements do not split into %s", total.Size, shapeString(out))
		}
		out[infer] = dimDiv(total, restProd)
		return out, nil
	}
	got := dimProduct(out)
	if !containsUnknown(total) && !containsUnknown(got) && total != got {
		return nil, fmt.Errorf("element counts differ: %s vs %s", total, got)
	}
	return out, nil
}

// Transpose permutes the axes of x; an empty perm reverses them.
func (g *Graph) Transpose(x *Value, perm ...int64) *Value {
	if !g.ok("Transpose", x) {
		return g.invalid(dtypeOf(x))
	}
	r := x.Rank()
	if len(perm) == 0 {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if !isPerm(perm, r) {
		g.fail("Transpose", "%v is not a permutation of the axes of %s", perm, x)
		return g.invalid(x.dtype)
	}
	if isIdentityPerm(perm) {
		return x
	}
	if inner, ok := transposePerm(x); ok {
		// A transpose that undoes another disappears. Others stay separate: ONNX Runtime folds
		// a swap of the last two axes into the MatMul that consumes it.
		composed := make([]int64, r)
		for i, p := range perm {
			composed[i] = inner[p]
		}
		if isIdentityPerm(composed) {
			return x.node.inputs[0]
		}
	}
	shape := make([]Dim, r)
	for i, p := range perm {
		shape[i] = x.shape[p]
	}
	return g.add1("Transpose", []*Value{x}, map[string]any{"perm": slices.Clone(perm)}, x.dtype, shape, nil)
}

// transposePerm returns the permutation of the Transpose node producing x, if any.
func transposePerm(x *Value) ([]int64, bool) {
	if x.node == nil || x.node.op != "Transpose" {
		return nil, false
	}
	perm, ok := x.node.attrs["perm"].([]int64)
	return perm, ok && len(perm) == x.Rank()
}

func isPerm(perm []int64, rank int) bool {
	if len(perm) != rank {
		return false
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= int64(rank) || seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

func isIdentityPerm(perm []int64) bool {
	for i, p := range perm {
		if p != int64(i) {
			return false
		}
	}
	return true
}

func invertPerm(perm []int64) []int64 {
	inv := make([]int64, len(perm))
	for i, p := range perm {
		inv[p] = int64(i)
	}
	return inv
}

// Concat joins values along axis; their other dims must be equal.
func (g *Graph) Concat(axis int64, vs ...*Value) *Value {
	if len(vs) == 0 {
		g.fail("Concat", "no operands")
		return g.invalid(Float32)
	}
	if !g.ok("Concat", vs...) {
		return g.invalid(dtypeOf(vs[0]))
	}
	first := vs[0]
	a, err := normAxis(axis, first.Rank())
	if err != nil {
		g.fail("Concat", "%s: %v", first, err)
		return g.invalid(first.dtype)
	}
	shape := slices.Clone(first.shape)
	for _, v := range vs[1:] {
		if v.dtype != first.dtype || v.Rank() != first.Rank() {
			g.fail("Concat", "operands differ: %s vs %s", first, v)
			return g.invalid(first.dtype)
		}
		for i, d := range v.shape {
			if i != a && d != shape[i] {
				g.fail("Concat", "dim %d differs: %s vs %s", i, first, v)
				return g.invalid(first.dtype)
			}
		}
		shape[a] = dimAdd(shape[a], v.shape[a])
	}
	var known []Dim
	if first.Rank() == 1 {
		for _, v := range vs {
			if v.known == nil {
				known = nil
				break
			}
			known = append(known, v.known...)
		}
	}
	return g.add1("Concat", slices.Clone(vs), map[string]any{"axis": int64(a)}, first.dtype, shape, known)
}

// Slice takes x[starts:ends:steps] along axes (ONNX semantics: negative bounds count from the
// end and bounds are clamped). axes nil means 0..len(starts)-1, steps nil means 1. On a
// symbolic dim a non-negative finite bound is taken to lie within the dim.
//
// It is emitted without ONNX's Slice (which ONNX Runtime's CUDA plugin provider cannot run):
// a step-1 axis becomes a Split into [before, kept, after] (piece sizes from the run-time shape
// where dims are symbolic; one Split is shared by slices of the same pieces), a strided axis a
// Gather of the static positions. The gradients are a Concat with zeros and a scatter.
func (g *Graph) Slice(x *Value, starts, ends, axes, steps []int64) *Value {
	if !g.ok("Slice", x) {
		return g.invalid(dtypeOf(x))
	}
	ax, st, err := sliceArgs(x.Rank(), starts, ends, axes, steps)
	if err != nil {
		g.fail("Slice", "%s: %v", x, err)
		return g.invalid(x.dtype)
	}
	type cut struct {
		axis        int
		begin, size Dim
		positions   []int64 // strided: the static positions taken
	}
	cuts := make([]cut, len(ax))
	for i, a := range ax {
		dim := x.shape[a]
		begin, end, err := sliceBounds(dim, starts[i], ends[i], st[i])
		if err != nil {
			g.fail("Slice", "%s axis %d: %v", x, a, err)
			return g.invalid(x.dtype)
		}
		c := cut{axis: int(a), begin: begin, size: sliceLen(begin, end, st[i])}
		if st[i] != 1 || (c.size.IsStatic() && c.size.Size == 0) {
			c.positions = []int64{}
			for p := begin.Size; st[i] > 0 && p < end.Size || st[i] < 0 && p > end.Size; p += st[i] {
				c.positions = append(c.positions, p)
			}
		}
		cuts[i] = c
	}
	for _, c := range cuts {
		if c.positions != nil {
			x = g.Gather(x, g.ConstI64(c.positions, int64(len(c.positions))), int64(c.axis))
			continue
		}
		x = g.splitPiece(x, c.axis, c.begin, c.size)
	}
	return x
}

// splitPiece returns x[begin : begin+size] along axis as a piece of a Split.
func (g *Graph) splitPiece(x *Value, axis int, begin, size Dim) *Value {
	dim := x.shape[axis]
	after := dimSub(dimSub(dim, begin), size)
	if after.IsStatic() && after.Size < 0 {
		g.fail("Slice", "%s axis %d: piece [%s, +%s) exceeds the dim", x, axis, begin, size)
		return g.invalid(x.dtype)
	}
	var pieces []Dim
	want := 0
	for i, d := range []Dim{begin, size, after} {
		if d.IsStatic() && d.Size == 0 {
			continue
		}
		if i == 1 {
			want = len(pieces)
		}
		pieces = append(pieces, d)
	}
	if len(pieces) == 1 {
		return x
	}
	key := fmt.Sprintf("%s/%d/%s", x.name, axis, shapeString(pieces))
	if outs, ok := g.splits[key]; ok {
		return outs[want]
	}
	outs := g.split(x, axis, pieces, g.shapeTensor(pieces))
	if x.known != nil && x.Rank() == 1 {
		var at int64
		for i, p := range pieces {
			if !p.IsStatic() {
				break
			}
			outs[i].known = x.known[at : at+p.Size]
			at += p.Size
		}
	}
	if g.err == nil {
		g.splits[key] = outs
	}
	return outs[want]
}

func sliceArgs(rank int, starts, ends, axes, steps []int64) ([]int64, []int64, error) {
	if len(starts) != len(ends) || len(starts) == 0 {
		return nil, nil, fmt.Errorf("starts %v and ends %v must be non-empty and of one length", starts, ends)
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, nil, fmt.Errorf("axes %v and steps %v must match starts %v", axes, steps, starts)
	}
	norm := make([]int64, len(axes))
	for i, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, nil, err
		}
		if slices.Contains(norm[:i], int64(n)) {
			return nil, nil, fmt.Errorf("axis %d repeats", a)
		}
		norm[i] = int64(n)
		if steps[i] == 0 {
			return nil, nil, fmt.Errorf("step 0")
		}
	}
	return norm, slices.Clone(steps), nil
}

// sliceBounds resolves a slice's first index and its end bound on a dim of size d: exact with
// ONNX clamping on static dims; on symbolic dims (step 1 only) negative bounds are relative to
// d, bounds from largeBound up mean d, and other non-negative bounds are taken to lie within d.
func sliceBounds(d Dim, start, end, step int64) (Dim, Dim, error) {
	if d.IsStatic() {
		n := d.Size
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		if step > 0 {
			return D(clamp(start, 0, n)), D(clamp(end, 0, n)), nil
		}
		return D(clamp(start, 0, n-1)), D(clamp(end, -1, n-1)), nil
	}
	if step != 1 {
		return Dim{}, Dim{}, fmt.Errorf("step %d on symbolic dim %s (only step 1 is supported there)", step, d)
	}
	bound := func(b int64) Dim {
		switch {
		case b >= largeBound:
			return d
		case b < 0:
			return dimAdd(d, D(b))
		}
		return D(b)
	}
	return bound(start), bound(end), nil
}

func sliceLen(begin, end Dim, step int64) Dim {
	if begin.IsStatic() && end.IsStatic() {
		if step > 0 {
			return D(max(0, (end.Size-begin.Size+step-1)/step))
		}
		return D(max(0, (begin.Size-end.Size-step-1)/(-step)))
	}
	l := dimSub(end, begin)
	if l.IsStatic() && l.Size < 0 {
		return D(0)
	}
	return l
}

func clamp(x, lo, hi int64) int64 { return min(max(x, lo), hi) }

// Split cuts x along axis into pieces of the given static sizes, which must add up to the dim.
func (g *Graph) Split(x *Value, axis int64, sizes ...int64) []*Value {
	fail := func() []*Value {
		out := make([]*Value, len(sizes))
		for i := range out {
			out[i] = g.invalid(dtypeOf(x))
		}
		return out
	}
	if !g.ok("Split", x) {
		return fail()
	}
	a, err := normAxis(axis, x.Rank())
	if err != nil {
		g.fail("Split", "%s: %v", x, err)
		return fail()
	}
	var total int64
	for _, s := range sizes {
		if s < 0 {
			g.fail("Split", "negative size in %v", sizes)
			return fail()
		}
		total += s
	}
	if len(sizes) == 0 || x.shape[a] != D(total) {
		g.fail("Split", "sizes %v do not add up to dim %d of %s", sizes, a, x)
		return fail()
	}
	return g.split(x, a, staticDims(sizes), g.ConstI64(sizes))
}

// split emits a Split whose piece sizes are held by the int64 tensor sizes.
func (g *Graph) split(x *Value, axis int, dims []Dim, sizes *Value) []*Value {
	outs := make([]spec, len(dims))
	for i, d := range dims {
		shape := slices.Clone(x.shape)
		shape[axis] = d
		outs[i] = spec{dt: x.dtype, shape: shape}
	}
	return g.add("Split", []*Value{x, sizes}, map[string]any{"axis": int64(axis)}, outs...)
}

// Squeeze removes axes of size 1; with no axes it removes every static 1.
func (g *Graph) Squeeze(x *Value, axes ...int64) *Value {
	if !g.ok("Squeeze", x) {
		return g.invalid(dtypeOf(x))
	}
	var norm []int64
	if len(axes) == 0 {
		for i, d := range x.shape {
			if d.isOne() {
				norm = append(norm, int64(i))
			}
		}
	} else {
		var err error
		if norm, err = normAxes(axes, x.Rank()); err != nil {
			g.fail("Squeeze", "%s: %v", x, err)
			return g.invalid(x.dtype)
		}
	}
	if len(norm) == 0 {
		return x
	}
	var shape []Dim
	for i, d := range x.shape {
		if !slices.Contains(norm, int64(i)) {
			shape = append(shape, d)
		} else if !d.isOne() {
			g.fail("Squeeze", "dim %d of %s is not 1", i, x)
			return g.invalid(x.dtype)
		}
	}
	var known []Dim
	if x.known != nil && len(shape) == 0 {
		known = x.known
	}
	return g.add1("Squeeze", []*Value{x, g.ConstI64(norm)}, nil, x.dtype, shape, known)
}

// Unsqueeze inserts axes of size 1; axes index the result.
func (g *Graph) Unsqueeze(x *Value, axes ...int64) *Value {
	if !g.ok("Unsqueeze", x) {
		return g.invalid(dtypeOf(x))
	}
	rank := x.Rank() + len(axes)
	norm, err := normAxes(axes, rank)
	if err != nil || len(norm) != len(axes) || len(axes) == 0 {
		g.fail("Unsqueeze", "bad axes %v for %s", axes, x)
		return g.invalid(x.dtype)
	}
	shape := make([]Dim, 0, rank)
	rest := x.shape
	for i := range rank {
		if slices.Contains(norm, int64(i)) {
			shape = append(shape, D(1))
		} else {
			shape = append(shape, rest[0])
			rest = rest[1:]
		}
	}
	var known []Dim
	if x.known != nil && rank == 1 {
		known = x.known
	}
	return g.add1("Unsqueeze", []*Value{x, g.ConstI64(norm)}, nil, x.dtype, shape, known)
}

// Expand broadcasts x to the shape held by a 1-D int64 tensor (ONNX Expand: the target may
// hold 1 where x is larger). Dims the builder cannot see become anonymous.
func (g *Graph) Expand(x, shape *Value) *Value {
	if !g.ok("Expand", x, shape) {
		return g.invalid(dtypeOf(x))
	}
	if shape.dtype != Int64 || shape.Rank() != 1 || !shape.shape[0].IsStatic() {
		g.fail("Expand", "shape must be a 1-D int64 tensor of static length, got %s", shape)
		return g.invalid(x.dtype)
	}
	target := shape.known
	n := int(shape.shape[0].Size)
	if target == nil {
		target = make([]Dim, n)
		for i := range target {
			target[i] = unseenDim
		}
	}
	rank := max(n, x.Rank())
	out := make([]Dim, rank)
	for i := range out {
		xd, td := D(1), D(1)
		if j := i - (rank - x.Rank()); j >= 0 {
			xd = x.shape[j]
		}
		if j := i - (rank - n); j >= 0 {
			td = target[j]
		}
		switch {
		case td == unseenDim && xd.isOne():
			out[i] = unknownDim()
		case td == unseenDim:
			out[i] = xd
		default:
			d, ok := broadcastDim(xd, td)
			if !ok {
				g.fail("Expand", "%s does not broadcast to %s", x, shapeString(target))
				return g.invalid(x.dtype)
			}
			out[i] = d
		}
	}
	return g.add1("Expand", []*Value{x, shape}, nil, x.dtype, out, nil)
}

// unseenDim marks a dim the builder cannot see: an entry of an unknown Expand target, or
// Sym("?") from a caller.
var unseenDim = Dim{Name: "?"}

// ShapeOf returns the shape of x as a 1-D int64 tensor.
func (g *Graph) ShapeOf(x *Value) *Value {
	if !g.ok("ShapeOf", x) {
		return g.invalid(Int64)
	}
	return g.add1("Shape", []*Value{x}, nil, Int64, []Dim{D(int64(x.Rank()))}, slices.Clone(x.shape))
}

// Range returns start, start+delta, ... below limit (above it for negative delta); the
// operands are scalars of one type.
func (g *Graph) Range(start, limit, delta *Value) *Value {
	if !g.ok("Range", start, limit, delta) {
		return g.invalid(dtypeOf(start))
	}
	if start.dtype != limit.dtype || start.dtype != delta.dtype || start.Rank() != 0 || limit.Rank() != 0 || delta.Rank() != 0 {
		g.fail("Range", "needs three scalars of one type, got %s, %s, %s", start, limit, delta)
		return g.invalid(start.dtype)
	}
	n := unknownDim()
	if start.known != nil && limit.known != nil && delta.known != nil {
		s, l, d := start.known[0], limit.known[0], delta.known[0]
		switch {
		case s.IsStatic() && l.IsStatic() && d.IsStatic() && d.Size != 0:
			n = D(max(0, (l.Size-s.Size+d.Size-sign(d.Size))/d.Size))
		case d == D(1):
			n = dimSub(l, s)
		}
	}
	return g.add1("Range", []*Value{start, limit, delta}, nil, start.dtype, []Dim{n}, nil)
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

// ConstantOfShape returns a tensor of type dt filled with x, of the shape held by a 1-D int64
// tensor.
func (g *Graph) ConstantOfShape(shape *Value, dt DType, x float64) *Value {
	if !g.ok("ConstantOfShape", shape) {
		return g.invalid(dt)
	}
	if shape.dtype != Int64 || shape.Rank() != 1 || !shape.shape[0].IsStatic() {
		g.fail("ConstantOfShape", "shape must be a 1-D int64 tensor of static length, got %s", shape)
		return g.invalid(dt)
	}
	dims := shape.known
	if dims == nil {
		dims = make([]Dim, shape.shape[0].Size)
		for i := range dims {
			dims[i] = unknownDim()
		}
	}
	fill := &constData{dtype: dt, shape: []int64{1}}
	switch {
	case dt.IsFloat():
		fill.f = []float64{x}
	case dt.Valid():
		fill.i = []int64{int64(x)}
	default:
		g.fail("ConstantOfShape", "unsupported dtype %v", dt)
		return g.invalid(dt)
	}
	return g.add1("ConstantOfShape", []*Value{shape}, map[string]any{"value": fill}, dt, dims, nil)
}

// Trilu keeps the lower (upper=false) or upper triangle of the last two axes, relative to the
// k-th diagonal, and zeroes the rest.
func (g *Graph) Trilu(x *Value, upper bool, k int64) *Value {
	if !g.ok("Trilu", x) {
		return g.invalid(dtypeOf(x))
	}
	if x.Rank() < 2 {
		g.fail("Trilu", "needs rank >= 2, got %s", x)
		return g.invalid(x.dtype)
	}
	inputs := []*Value{x}
	if k != 0 {
		inputs = append(inputs, g.scalarI64(k))
	}
	return g.add1("Trilu", inputs, map[string]any{"upper": int64(boolInt(upper))}, x.dtype, x.shape, nil)
}

// CumSum returns the inclusive cumulative sum along axis.
func (g *Graph) CumSum(x *Value, axis int64) *Value {
	if !g.ok("CumSum", x) {
		return g.invalid(dtypeOf(x))
	}
	a, err := normAxis(axis, x.Rank())
	if err != nil || x.dtype == Bool {
		g.fail("CumSum", "bad operand %s or axis %d", x, axis)
		return g.invalid(x.dtype)
	}
	return g.cumSum(x, a, false)
}

func (g *Graph) cumSum(x *Value, axis int, reverse bool) *Value {
	var attrs map[string]any
	if reverse {
		attrs = map[string]any{"reverse": int64(1)}
	}
	return g.add1("CumSum", []*Value{x, g.scalarI64(int64(axis))}, attrs, x.dtype, x.shape, nil)
}

// Op emits any ONNX operator of the default domain with caller-given output types (no
// inference; Sym("?") in outShapes is an anonymous dim). Attribute values may be int, int64,
// float32, float64, string, []int, []int64, []float32, []float64 or []string; a nil input is
// an omitted optional input. VJP differentiates it when a rule exists for opType.
func (g *Graph) Op(opType string, inputs []*Value, attrs map[string]any, outDTypes []DType, outShapes [][]Dim) []*Value {
	fail := func() []*Value {
		out := make([]*Value, len(outDTypes))
		for i, dt := range outDTypes {
			out[i] = g.invalid(dt)
		}
		return out
	}
	var present []*Value
	for _, in := range inputs {
		if in != nil {
			present = append(present, in)
		}
	}
	if !g.ok(opType, present...) {
		return fail()
	}
	if len(outDTypes) != len(outShapes) || len(outDTypes) == 0 {
		g.fail(opType, "%d output dtypes for %d shapes", len(outDTypes), len(outShapes))
		return fail()
	}
	norm := map[string]any{}
	for k, v := range attrs {
		switch v := v.(type) {
		case int:
			norm[k] = int64(v)
		case int64, float32, string, []int64, []float32, []string:
			norm[k] = v
		case float64:
			norm[k] = float32(v)
		case []int:
			s := make([]int64, len(v))
			for i, x := range v {
				s[i] = int64(x)
			}
			norm[k] = s
		case []float64:
			s := make([]float32, len(v))
			for i, x := range v {
				s[i] = float32(x)
			}
			norm[k] = s
		default:
			g.fail(opType, "attribute %q has unsupported type %T", k, v)
			return fail()
		}
	}
	outs := make([]spec, len(outDTypes))
	for i, dt := range outDTypes {
		if !dt.Valid() {
			g.fail(opType, "unsupported output dtype %v", dt)
			return fail()
		}
		outs[i] = spec{dt: dt, shape: outShapes[i]}
	}
	return g.add(opType, slices.Clone(inputs), norm, outs...)
}
