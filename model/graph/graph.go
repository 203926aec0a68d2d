package graph

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"ltecli/ort"
)

// DType is a tensor element type: ort.DType, whose values are ONNX's TensorProto.DataType
// numbers, the numbers the encoded graph holds.
type DType = ort.DType

// The element types a graph may hold.
const (
	Float32 = ort.Float32
	Int32   = ort.Int32
	Int64   = ort.Int64
	Bool    = ort.Bool
	Float64 = ort.Float64
	// Float16 and BFloat16 are compute types inside graphs (Cast to and from them); graph
	// inputs and outputs stay Float32 or Float64.
	Float16  = ort.Float16
	BFloat16 = ort.BFloat16
)

// Value is a tensor of a graph: a graph input, a constant, or an output of a node.
type Value struct {
	g     *Graph
	name  string
	dtype DType
	shape []Dim
	node  *node      // producer; nil for inputs and constants
	data  *constData // contents of a constant
	// known holds the contents of a rank-0 or rank-1 int64 tensor when the builder can tell
	// them (shapes, constant indices): it makes Reshape, Expand and Range to runtime shapes exact.
	known  []Dim
	input  bool
	output bool
}

// DType returns the element type.
func (v *Value) DType() DType { return v.dtype }

// Shape returns a copy of the shape.
func (v *Value) Shape() []Dim { return slices.Clone(v.shape) }

// Rank returns the number of dimensions.
func (v *Value) Rank() int { return len(v.shape) }

// Dim returns dimension i; a negative i counts from the end. It panics if i is out of range.
func (v *Value) Dim(i int) Dim {
	if i < 0 {
		i += len(v.shape)
	}
	return v.shape[i]
}

// Name returns the value's name in the encoded graph.
func (v *Value) Name() string { return v.name }

// Graph returns the graph the value belongs to.
func (v *Value) Graph() *Graph { return v.g }

func (v *Value) String() string { return fmt.Sprintf("%s %v%s", v.name, v.dtype, shapeString(v.shape)) }

// node is one ONNX operator application.
type node struct {
	op      string
	inputs  []*Value // a nil entry is an omitted optional input
	outputs []*Value
	attrs   map[string]any // int64, float32, string, []int64, []float32, []string, *constData
}

func (n *node) attrInt(name string, def int64) int64 {
	if v, ok := n.attrs[name].(int64); ok {
		return v
	}
	return def
}

func (n *node) String() string {
	if len(n.outputs) == 0 {
		return n.op
	}
	return fmt.Sprintf("%s node %q", n.op, n.outputs[0].name)
}

// constData is the contents of a constant tensor.
type constData struct {
	dtype DType
	shape []int64
	f     []float64 // Float32, Float64, Float16, BFloat16
	i     []int64   // Int64, Int32, Bool
}

func (c *constData) key() string {
	return fmt.Sprint(c.dtype, c.shape, c.f, c.i)
}

// dimSource is a value whose dimension axis has a given size at run time.
type dimSource struct {
	v    *Value
	axis int
}

// Graph is a graph under construction. Builder methods never panic on bad arguments: the first
// error is kept (with the caller's file and line), later calls are ignored, and Err, Encode and
// VJP report it.
type Graph struct {
	name    string
	inputs  []*Value
	outputs []*Value
	nodes   []*node
	names   map[string]*Value
	counter int
	err     error
	consts  map[string]*Value
	dimSrc  map[string]dimSource // first value seen with each symbolic dim
	dimVals map[string]*Value    // runtime size of a symbolic dim, as an int64 [1]
	shapes  map[string]*Value    // runtime shapes built by shapeTensor
	splits  map[string][]*Value  // Split nodes by input, axis and pieces (Slice shares them)
	// outer finds a carrier of a symbolic dim that no value of this graph carries yet (a
	// backward graph asks its forward graph).
	outer func(dim string) (*Value, int, bool)
}

// New returns an empty graph.
func New(name string) *Graph {
	return &Graph{
		name:    name,
		names:   map[string]*Value{},
		consts:  map[string]*Value{},
		dimSrc:  map[string]dimSource{},
		dimVals: map[string]*Value{},
		shapes:  map[string]*Value{},
		splits:  map[string][]*Value{},
	}
}

// Name returns the graph's name.
func (g *Graph) Name() string { return g.name }

// Err returns the first build error, or nil.
func (g *Graph) Err() error { return g.err }

// NumNodes returns the number of nodes built so far (dead ones included).
func (g *Graph) NumNodes() int { return len(g.nodes) }

// InputNames returns the input names in order.
func (g *Graph) InputNames() []string {
	out := make([]string, len(g.inputs))
	for i, v := range g.inputs {
		out[i] = v.name
	}
	return out
}

// OutputNames returns the output names in order.
func (g *Graph) OutputNames() []string {
	out := make([]string, len(g.outputs))
	for i, v := range g.outputs {
		out[i] = v.name
	}
	return out
}

// Inputs returns the input values in order.
func (g *Graph) Inputs() []*Value { return slices.Clone(g.inputs) }

// Outputs returns the output values in order.
func (g *Graph) Outputs() []*Value { return slices.Clone(g.outputs) }

var packageDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// callerLocation returns file:line of the innermost caller outside this package's own code.
func callerLocation() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if filepath.Dir(f.File) != packageDir || strings.HasSuffix(f.File, "_test.go") {
			return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		}
		if !more {
			return "?"
		}
	}
}

// fail records the first build error.
func (g *Graph) fail(op string, format string, args ...any) {
	if g.err != nil {
		return
	}
	g.err = fmt.Errorf("graph %q: %s: %s (built at %s)", g.name, op, fmt.Sprintf(format, args...), callerLocation())
}

// ok checks the operands of op; it fails on nil values and values of other graphs.
func (g *Graph) ok(op string, vs ...*Value) bool {
	if g.err != nil {
		return false
	}
	for i, v := range vs {
		if v == nil {
			g.fail(op, "operand %d is nil", i)
			return false
		}
		if v.g != g {
			g.fail(op, "operand %d (%s) belongs to graph %q", i, v.name, v.g.name)
			return false
		}
	}
	return true
}

// invalid is the placeholder result of a failed build call; it is never encoded.
func (g *Graph) invalid(dt DType) *Value {
	return &Value{g: g, name: "<invalid>", dtype: dt}
}

func dtypeOf(v *Value) DType {
	if v == nil {
		return Float32
	}
	return v.dtype
}

func (g *Graph) freshName(op string) string {
	for {
		g.counter++
		name := fmt.Sprintf("%s_%d", op, g.counter)
		if _, used := g.names[name]; !used {
			return name
		}
	}
}

func (g *Graph) register(v *Value) {
	g.names[v.name] = v
	for axis, d := range v.shape {
		if d.IsStatic() {
			continue
		}
		if _, seen := g.dimSrc[d.Name]; !seen {
			g.dimSrc[d.Name] = dimSource{v: v, axis: axis}
		}
	}
}

// canonicalShape puts dims in canonical form; a dim named "?" becomes a fresh anonymous dim.
func canonicalShape(s []Dim) []Dim {
	out := make([]Dim, len(s))
	for i, d := range s {
		if d == unseenDim {
			out[i] = unknownDim()
			continue
		}
		out[i] = canonical(d)
	}
	return out
}

// spec is the type of one node output.
type spec struct {
	dt    DType
	shape []Dim
	known []Dim
}

// add appends a node whose outputs have the given types.
func (g *Graph) add(op string, inputs []*Value, attrs map[string]any, outs ...spec) []*Value {
	n := &node{op: op, inputs: inputs, attrs: attrs}
	for _, o := range outs {
		v := &Value{g: g, name: g.freshName(op), dtype: o.dt, shape: canonicalShape(o.shape), node: n, known: o.known}
		g.register(v)
		n.outputs = append(n.outputs, v)
	}
	g.nodes = append(g.nodes, n)
	return n.outputs
}

func (g *Graph) add1(op string, inputs []*Value, attrs map[string]any, dt DType, shape []Dim, known []Dim) *Value {
	return g.add(op, inputs, attrs, spec{dt: dt, shape: shape, known: known})[0]
}

// Input declares a graph input. Parameters are inputs too (never initializers).
func (g *Graph) Input(name string, dt DType, shape ...Dim) *Value {
	if g.err != nil {
		return g.invalid(dt)
	}
	switch {
	case name == "":
		g.fail("Input", "empty name")
	case g.names[name] != nil:
		g.fail("Input", "name %q is already used", name)
	case !dt.Valid():
		g.fail("Input", "%q: unsupported dtype %v", name, dt)
	}
	for _, d := range shape {
		if d.IsStatic() && d.Size < 0 {
			g.fail("Input", "%q: negative dim %d", name, d.Size)
		}
	}
	if g.err != nil {
		return g.invalid(dt)
	}
	v := &Value{g: g, name: name, dtype: dt, shape: canonicalShape(shape), input: true}
	g.register(v)
	g.inputs = append(g.inputs, v)
	return v
}

// Output marks v as a graph output called name. v is renamed when it is a plain node output,
// otherwise (an input, a constant, an output already) an Identity node carries it.
func (g *Graph) Output(name string, v *Value) {
	if !g.ok("Output", v) {
		return
	}
	if name == "" {
		g.fail("Output", "empty name")
		return
	}
	if other := g.names[name]; other != nil && other != v {
		g.fail("Output", "name %q is already used by %s", name, other)
		return
	}
	if v.node == nil || v.output || v.input {
		if g.names[name] != nil {
			g.fail("Output", "output %q would repeat input %q; give it another name", name, name)
			return
		}
		v = g.add1("Identity", []*Value{v}, nil, v.dtype, v.shape, v.known)
	}
	if v.name != name {
		delete(g.names, v.name)
		v.name = name
		g.names[name] = v
	}
	v.output = true
	g.outputs = append(g.outputs, v)
}

// constant returns a constant value, sharing small ones with equal contents.
func (g *Graph) constant(c *constData) *Value {
	n := 1
	for _, d := range c.shape {
		n *= int(d)
	}
	small := n <= 64
	if small {
		if v, ok := g.consts[c.key()]; ok {
			return v
		}
	}
	v := &Value{g: g, name: g.freshName("const"), dtype: c.dtype, shape: staticDims(c.shape), data: c}
	if c.dtype == Int64 && len(c.shape) <= 1 {
		v.known = staticDims(c.i)
	}
	g.register(v)
	if small {
		g.consts[c.key()] = v
	}
	return v
}

func (g *Graph) checkConst(op string, n int, shape []int64) ([]int64, bool) {
	if g.err != nil {
		return nil, false
	}
	if len(shape) == 0 {
		return []int64{int64(n)}, true
	}
	want := 1
	for _, d := range shape {
		if d < 0 {
			g.fail(op, "negative dim in shape %v", shape)
			return nil, false
		}
		want *= int(d)
	}
	if want != n {
		g.fail(op, "%d values for shape %v (want %d)", n, shape, want)
		return nil, false
	}
	return slices.Clone(shape), true
}

// Scalar returns a rank-0 constant of type dt (integers truncate x; Bool is x != 0).
func (g *Graph) Scalar(dt DType, x float64) *Value {
	if g.err != nil {
		return g.invalid(dt)
	}
	c := &constData{dtype: dt}
	switch {
	case dt.IsFloat():
		c.f = []float64{x}
	case dt == Bool:
		c.i = []int64{0}
		if x != 0 {
			c.i[0] = 1
		}
	case dt.Valid():
		c.i = []int64{int64(x)}
	default:
		g.fail("Scalar", "unsupported dtype %v", dt)
		return g.invalid(dt)
	}
	return g.constant(c)
}

// ConstLike returns a rank-0 constant of v's dtype (the graph's working float type, say).
func (g *Graph) ConstLike(v *Value, x float64) *Value {
	if !g.ok("ConstLike", v) {
		return g.invalid(dtypeOf(v))
	}
	return g.Scalar(v.dtype, x)
}

// ConstF32 returns a float32 constant; an empty shape means the 1-D shape [len(data)].
func (g *Graph) ConstF32(data []float32, shape ...int64) *Value {
	s, ok := g.checkConst("ConstF32", len(data), shape)
	if !ok {
		return g.invalid(Float32)
	}
	f := make([]float64, len(data))
	for i, x := range data {
		f[i] = float64(x)
	}
	return g.constant(&constData{dtype: Float32, shape: s, f: f})
}

// ConstF64 returns a float64 constant; an empty shape means the 1-D shape [len(data)].
func (g *Graph) ConstF64(data []float64, shape ...int64) *Value {
	s, ok := g.checkConst("ConstF64", len(data), shape)
	if !ok {
		return g.invalid(Float64)
	}
	return g.constant(&constData{dtype: Float64, shape: s, f: slices.Clone(data)})
}

// ConstI64 returns an int64 constant; an empty shape means the 1-D shape [len(data)].
func (g *Graph) ConstI64(data []int64, shape ...int64) *Value {
	s, ok := g.checkConst("ConstI64", len(data), shape)
	if !ok {
		return g.invalid(Int64)
	}
	return g.constant(&constData{dtype: Int64, shape: s, i: slices.Clone(data)})
}

// scalarI64 returns an int64 rank-0 constant.
func (g *Graph) scalarI64(x int64) *Value {
	return g.constant(&constData{dtype: Int64, i: []int64{x}})
}

// constFloat returns the value of a float constant scalar (or single-element tensor).
func constFloat(v *Value) (float64, bool) {
	if v == nil || v.data == nil || len(v.data.f) != 1 {
		return 0, false
	}
	return v.data.f[0], true
}

// knownInts returns the build-time contents of an int64 tensor when all are static.
func knownInts(v *Value) ([]int64, bool) {
	if v == nil || v.known == nil {
		return nil, false
	}
	return staticShape(v.known)
}

// shapeTensor returns a 1-D int64 tensor holding dims at run time.
func (g *Graph) shapeTensor(dims []Dim) *Value {
	if s, ok := staticShape(dims); ok {
		return g.ConstI64(s)
	}
	key := shapeString(dims)
	if v, ok := g.shapes[key]; ok {
		return v
	}
	var parts []*Value
	var run []int64
	flush := func() {
		if len(run) > 0 {
			parts = append(parts, g.ConstI64(run))
			run = nil
		}
	}
	for _, d := range dims {
		if d.IsStatic() {
			run = append(run, d.Size)
			continue
		}
		flush()
		parts = append(parts, g.dimValue(d))
	}
	flush()
	v := parts[0]
	if len(parts) > 1 {
		v = g.Concat(0, parts...)
	}
	if g.err == nil {
		g.shapes[key] = v
	}
	return v
}

// dimValue returns the run-time size of a symbolic dim as an int64 [1] tensor.
func (g *Graph) dimValue(d Dim) *Value {
	if v, ok := g.dimVals[d.Name]; ok {
		return v
	}
	e := parseDim(d)
	compound := len(e.atoms) > 1 || e.coef != 1 || e.off != 0
	var v *Value
	if src, ok := g.inputCarrier(d.Name); ok {
		v = g.shapeSlice(src.v, src.axis)
	} else if compound && g.atomsOnInputs(e) {
		v = g.exprValue(e)
	} else if src, ok := g.dimSrc[d.Name]; ok {
		v = g.shapeSlice(src.v, src.axis)
	} else if compound {
		v = g.exprValue(e)
	} else if g.outer != nil {
		if src, axis, ok := g.outer(d.Name); ok {
			v = g.shapeSlice(src, axis)
		}
	}
	if g.err != nil {
		return g.invalid(Int64)
	}
	if v == nil {
		g.fail("shape", "no value carries the symbolic dim %q, so its size is unknown at run time", d.Name)
		return g.invalid(Int64)
	}
	v.known = []Dim{d}
	g.dimVals[d.Name] = v
	return v
}

func (g *Graph) inputCarrier(name string) (dimSource, bool) {
	for _, in := range g.inputs {
		for axis, d := range in.shape {
			if d.Name == name {
				return dimSource{v: in, axis: axis}, true
			}
		}
	}
	return dimSource{}, false
}

func (g *Graph) atomsOnInputs(e dimExpr) bool {
	for _, a := range e.atoms {
		if _, ok := g.inputCarrier(a); !ok {
			return false
		}
	}
	return true
}

// exprValue computes coef*prod(atoms)+off at run time.
func (g *Graph) exprValue(e dimExpr) *Value {
	var v *Value
	for _, a := range e.atoms {
		av := g.dimValue(Dim{Name: a})
		if v == nil {
			v = av
		} else {
			v = g.Mul(v, av)
		}
	}
	if e.coef != 1 {
		v = g.Mul(v, g.ConstI64([]int64{e.coef}))
	}
	if e.off != 0 {
		v = g.Add(v, g.ConstI64([]int64{e.off}))
	}
	return v
}

// shapeSlice returns dim axis of v's shape as an int64 [1] tensor.
func (g *Graph) shapeSlice(v *Value, axis int) *Value {
	attrs := map[string]any{"start": int64(axis), "end": int64(axis + 1)}
	return g.add1("Shape", []*Value{v}, attrs, Int64, []Dim{D(1)}, []Dim{v.shape[axis]})
}

// numel returns the product of dims as a rank-0 constant or run-time scalar of type dt.
func (g *Graph) numel(dims []Dim, dt DType) *Value {
	p := dimProduct(dims)
	if p.IsStatic() {
		return g.Scalar(dt, float64(p.Size))
	}
	n := g.add1("ReduceProd", []*Value{g.shapeTensor(dims)}, map[string]any{"keepdims": int64(0)}, Int64, nil, nil)
	return g.Cast(n, dt)
}

// zeros returns a tensor of zeros with the given shape.
func (g *Graph) zeros(dt DType, shape []Dim) *Value {
	return g.ConstantOfShape(g.shapeTensor(shape), dt, 0)
}

var errNoOutputs = errors.New("graph has no outputs")

// largeBound is the slice bound beyond which a symbolic dim is taken to end (ONNX clamps).
const largeBound = math.MaxInt32
