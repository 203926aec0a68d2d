package graph

import (
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"ltecli/ort"
)

func TestDimAlgebra(t *testing.T) {
	cases := []struct {
		got, want Dim
	}{
		{Sym("seq*batch"), Sym("batch*seq")},
		{Sym("3"), D(3)},
		{Sym("past+1"), dimAdd(Sym("past"), D(1))},
		{dimSub(Sym("seq"), D(1)), Dim{Name: "seq-1"}},
		{dimSub(dimAdd(Sym("seq"), D(2)), Sym("seq")), D(2)},
		{dimAdd(Sym("seq"), Sym("seq")), Dim{Name: "2*seq"}},
		{dimMul(Sym("seq"), Sym("batch")), Dim{Name: "batch*seq"}},
		{dimMul(D(4), Dim{Name: "seq-1"}), Dim{Name: "4*seq-4"}},
		{dimDiv(Dim{Name: "8*batch*seq"}, Dim{Name: "2*seq"}), Dim{Name: "4*batch"}},
		{dimDiv(Dim{Name: "batch*seq"}, Sym("batch")), Sym("seq")},
		{dimDiv(Dim{Name: "6*seq"}, D(6)), Sym("seq")},
		{dimProduct([]Dim{D(2), Sym("b"), D(3)}), Dim{Name: "6*b"}},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %v, want %v", i, c.got, c.want)
		}
	}
	for i, d := range []Dim{dimDiv(Sym("seq"), D(2)), dimMul(Dim{Name: "seq-1"}, Sym("b")), dimSub(D(3), Sym("seq")), dimAdd(Sym("a"), Sym("b"))} {
		if !containsUnknown(d) {
			t.Errorf("case %d: %v should be anonymous", i, d)
		}
	}
}

func TestShapeInference(t *testing.T) {
	g := New("shapes")
	x := g.Input("x", Float32, Sym("batch"), Sym("seq"), D(512))
	ids := g.Input("ids", Int64, Sym("batch"), Sym("seq"))
	emb := g.Input("emb", Float32, D(100), D(512))
	w := g.Input("w", Float32, D(512), D(64))
	pastK := g.Input("past", Float32, Sym("batch"), D(2), Sym("past"), D(8))
	mask := g.Input("mask", Int64, Sym("batch"), Sym("past+1"))

	heads := g.Reshape(x, 0, 0, 8, -1)
	seqLen := g.Gather(g.ShapeOf(x), g.Scalar(Int64, 1), 0)
	cases := []struct {
		v    *Value
		want string
	}{
		{g.MatMul(x, w), "[batch,seq,64]"},
		{heads, "[batch,seq,8,64]"},
		{g.Transpose(heads, 0, 2, 1, 3), "[batch,8,seq,64]"},
		{g.Reshape(x, -1, 512), "[batch*seq,512]"},
		{g.Reshape(g.Reshape(x, -1, 512), 0, 8, 64), "[batch*seq,8,64]"},
		{g.ReshapeTo(g.Reshape(x, -1), g.ShapeOf(x)), "[batch,seq,512]"},
		{g.Gather(emb, ids, 0), "[batch,seq,512]"},
		{g.Slice(x, []int64{0}, []int64{-1}, []int64{1}, nil), "[batch,seq-1,512]"},
		{g.Slice(ids, []int64{1}, []int64{math.MaxInt64}, []int64{1}, nil), "[batch,seq-1]"},
		{g.Slice(x, []int64{-1}, []int64{math.MaxInt64}, []int64{1}, nil), "[batch,1,512]"},
		{g.Slice(x, []int64{0}, []int64{512}, []int64{2}, []int64{3}), "[batch,seq,171]"},
		{g.Concat(2, pastK, g.Slice(pastK, []int64{0}, []int64{1}, []int64{2}, nil)), "[batch,2,past+1,8]"},
		{g.Range(g.Scalar(Int64, 0), seqLen, g.Scalar(Int64, 1)), "[seq]"},
		{g.Range(g.Scalar(Int64, 2), g.Scalar(Int64, 9), g.Scalar(Int64, 3)), "[3]"},
		{g.Expand(g.Scalar(Float32, 0), g.ShapeOf(mask)), "[batch,past+1]"},
		{g.ConstantOfShape(g.Concat(0, g.ShapeOf(ids), g.ConstI64([]int64{4})), Float32, 1), "[batch,seq,4]"},
		{g.ReduceSum(x, []int64{-1}, true), "[batch,seq,1]"},
		{g.ReduceMax(x, nil, false), "[]"},
		{g.Squeeze(g.Unsqueeze(ids, 0, -1)), "[batch,seq]"},
		{g.Unsqueeze(ids, 1, 3), "[batch,1,seq,1]"},
		{g.Split(x, -1, 100, 412)[1], "[batch,seq,412]"},
		{g.MatMul(g.Input("v", Float32, D(512)), w), "[64]"},
		{g.MatMul(heads, g.Input("u", Float32, D(64))), "[batch,seq,8]"},
		{g.Where(g.Less(ids, g.Scalar(Int64, 3)), g.Scalar(Float32, 1), g.Input("r", Float32, D(1), Sym("seq"))), "[batch,seq]"},
		{g.Gemm(g.Input("a", Float32, D(3), D(5)), g.Input("bt", Float32, D(7), D(5)), nil, false, true), "[3,7]"},
	}
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got := shapeString(c.v.Shape()); got != c.want {
			t.Errorf("case %d: shape %s, want %s", i, got, c.want)
		}
	}
	op := g.Op("Identity", []*Value{x}, nil, []DType{Float32}, [][]Dim{{Sym("?"), Sym("?"), D(512)}})[0]
	if a, b := op.Dim(0), op.Dim(1); a == b || !containsUnknown(a) || !containsUnknown(b) {
		t.Errorf("Sym(\"?\") dims %v and %v should be distinct anonymous dims", a, b)
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *Graph)
		want  string
	}{
		{"bad broadcast", func(g *Graph) {
			g.Add(g.Input("a", Float32, Sym("seq"), D(4)), g.Input("b", Float32, Sym("batch"), D(4)))
		}, "do not broadcast: dim seq vs batch"},
		{"bad static broadcast", func(g *Graph) {
			g.Mul(g.Input("a", Float32, D(3)), g.Input("b", Float32, D(4)))
		}, "do not broadcast"},
		{"dtype mismatch", func(g *Graph) {
			g.Add(g.Input("a", Float32, D(3)), g.Input("b", Float64, D(3)))
		}, "dtype mismatch"},
		{"matmul inner dims", func(g *Graph) {
			g.MatMul(g.Input("a", Float32, D(2), D(3)), g.Input("b", Float32, D(4), D(5)))
		}, "inner dims differ: 3 vs 4"},
		{"reshape count", func(g *Graph) {
			g.Reshape(g.Input("a", Float32, Sym("b"), D(6)), 0, 4)
		}, "element counts differ"},
		{"squeeze non-1", func(g *Graph) {
			g.Squeeze(g.Input("a", Float32, D(2), D(3)), 1)
		}, "dim 1 of a float32[2,3] is not 1"},
		{"split sizes", func(g *Graph) {
			g.Split(g.Input("a", Float32, D(6)), 0, 2, 3)
		}, "do not add up"},
		{"duplicate input", func(g *Graph) {
			g.Input("a", Float32)
			g.Input("a", Float32)
		}, `name "a" is already used`},
		{"nil operand", func(g *Graph) {
			g.Exp(nil)
		}, "operand 0 is nil"},
		{"foreign value", func(g *Graph) {
			g.Exp(New("other").Input("a", Float32))
		}, `belongs to graph "other"`},
		{"float op on ints", func(g *Graph) {
			g.Exp(g.Input("a", Int64))
		}, "needs a float operand"},
		{"first error kept", func(g *Graph) {
			a := g.Input("a", Float32, D(3))
			g.Exp(g.Add(a, g.Input("b", Float32, D(4))))
			g.Squeeze(a, 0)
		}, "Add: shapes [3] [4] do not broadcast"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := New("bad")
			c.build(g)
			err := g.Err()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "graph_test.go:") {
				t.Fatalf("error %v, want one containing %q and the caller's file", err, c.want)
			}
			if _, encErr := g.Encode(); encErr != err {
				t.Errorf("Encode returned %v, want the build error", encErr)
			}
			if _, vjpErr := VJP(g, nil, VJPOptions{}); vjpErr == nil || !strings.Contains(vjpErr.Error(), c.want) {
				t.Errorf("VJP returned %v, want the build error", vjpErr)
			}
		})
	}
}

func TestVJPErrors(t *testing.T) {
	build := func() *Graph {
		g := New("f")
		x := g.Input("x", Float64, D(3))
		ids := g.Input("ids", Int64, D(3))
		erf := g.Op("Erf", []*Value{x}, nil, []DType{Float64}, [][]Dim{{D(3)}})[0]
		g.Output("y", g.Add(erf, g.Cast(ids, Float64)))
		g.Output("n", g.Cast(ids, Int64))
		return g
	}
	cases := []struct {
		wrt  []string
		opts VJPOptions
		want string
	}{
		{[]string{"x"}, VJPOptions{}, `no gradient rule for op Erf (Erf node "Erf_`},
		{[]string{"z"}, VJPOptions{}, `"z" is not an input`},
		{[]string{"ids"}, VJPOptions{}, "is not a float"},
		{[]string{"x", "x"}, VJPOptions{}, "listed twice"},
		{[]string{"x"}, VJPOptions{Outputs: []string{"n"}}, "takes no cotangent"},
		{[]string{"x"}, VJPOptions{Outputs: []string{"q"}}, `"q" is not an output`},
	}
	for i, c := range cases {
		_, err := VJP(build(), c.wrt, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
	}

	// The rule for an op built through Op applies when it exists.
	g := New("f")
	x := g.Input("x", Float64, D(3))
	g.Output("y", g.Op("Pow", []*Value{x, x}, nil, []DType{Float64}, [][]Dim{{D(3)}})[0])
	if _, err := VJP(g, []string{"x"}, VJPOptions{}); err == nil || !strings.Contains(err.Error(), "exponent must be a constant") {
		t.Errorf("Pow with a variable exponent: error %v", err)
	}
}

// TestVJPZerosAndSelectedOutputs checks the gradient of an input no differentiated output
// depends on (zeros), and that outputs left out of VJPOptions.Outputs take no cotangent.
func TestVJPZerosAndSelectedOutputs(t *testing.T) {
	g := New("f")
	x := g.Input("x", Float64, Sym("b"), D(2))
	y := g.Input("y", Float64, D(2))
	g.Output("fx", g.Mul(x, x))
	g.Output("fy", g.Exp(y))
	bg, err := VJP(g, []string{"y", "x"}, VJPOptions{Outputs: []string{"fx"}, Name: "grads"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bg.InputNames(), []string{"x", "y", "d_fx"}; !slices.Equal(got, want) {
		t.Fatalf("inputs %v, want %v", got, want)
	}
	if got, want := bg.OutputNames(), []string{"d_y", "d_x"}; !slices.Equal(got, want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	if ops := encodedOps(t, bg); slices.Contains(ops, "Exp") {
		t.Errorf("the unused output's Exp was encoded: %v", ops)
	}
	s := session(t, bg)
	out := run(t, s, []*ort.Tensor{
		ort.F64Tensor([]float64{1, 2, 3, 4, 5, 6}, 3, 2),
		ort.F64Tensor([]float64{7, 8}, 2),
		ort.F64Tensor([]float64{1, 1, 1, 1, 1, -1}, 3, 2),
	}, bg.outputs, map[string]int64{"b": 3})
	if !slices.Equal(out[0].F64, []float64{0, 0}) || !slices.Equal(out[1].F64, []float64{2, 4, 6, 8, 10, -12}) {
		t.Errorf("d_y %v, d_x %v", out[0].F64, out[1].F64)
	}
}

// TestVJPRecomputesOnlyWhatIsNeeded checks that the backward graph of a linear layer holds no
// forward MatMul (its output is not needed for the gradient).
func TestVJPRecomputesOnlyWhatIsNeeded(t *testing.T) {
	g := New("f")
	x := g.Input("x", Float32, Sym("b"), D(4))
	w := g.Input("w", Float32, D(4), D(3))
	g.Output("y", g.MatMul(x, w))
	bg, err := VJP(g, []string{"w"}, VJPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ops := encodedOps(t, bg); !slices.Equal(ops, []string{"Gemm"}) {
		t.Errorf("backward ops %v, want a single Gemm", ops)
	}
}

// walk calls f for each field of a protobuf message.
func walk(t *testing.T, b []byte, f func(num protowire.Number, v []byte, x uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		if n < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		f(num, v, x)
	}
}

// encodedOps returns the op types of the encoded graph's nodes.
func encodedOps(t *testing.T, g *Graph) []string {
	t.Helper()
	model, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	walk(t, model, func(num protowire.Number, v []byte, _ uint64) {
		if num == modelGraph {
			walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
				if num == graphNode {
					walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
						if num == nodeOpType {
							ops = append(ops, string(v))
						}
					})
				}
			})
		}
	})
	return ops
}

func TestEncodeModelProto(t *testing.T) {
	g := New("enc")
	x := g.Input("x", Float32, Sym("batch"), D(4))
	w := g.Input("w", Float32, D(4), D(2))
	y := g.Add(g.MatMul(x, w), g.ConstF32([]float32{1, 2}))
	g.Output("y", g.Softmax(y, -1))
	model, err := g.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var ir, opset uint64
	var inputs, inits []string
	var dims []string
	walk(t, model, func(num protowire.Number, v []byte, x uint64) {
		switch num {
		case modelIRVersion:
			ir = x
		case modelOpsetImport:
			walk(t, v, func(num protowire.Number, _ []byte, x uint64) {
				if num == opsetVersion {
					opset = x
				}
			})
		case modelGraph:
			walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
				name := func(field protowire.Number) (s string) {
					walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
						if num == field {
							s = string(v)
						}
					})
					return s
				}
				switch num {
				case graphInitializer:
					inits = append(inits, name(tensorName))
				case graphInput:
					inputs = append(inputs, name(valueInfoName))
					if len(inputs) == 1 {
						// ValueInfo.type.tensor_type.shape.dim[*]
						walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
							if num != valueInfoType {
								return
							}
							walk(t, v, func(_ protowire.Number, v []byte, _ uint64) {
								walk(t, v, func(num protowire.Number, v []byte, _ uint64) {
									if num != tensorShape {
										return
									}
									walk(t, v, func(_ protowire.Number, v []byte, _ uint64) {
										walk(t, v, func(num protowire.Number, v []byte, x uint64) {
											if num == dimensionParam {
												dims = append(dims, string(v))
											} else {
												dims = append(dims, string(rune('0'+x)))
											}
										})
									})
								})
							})
						})
					}
				}
			})
		}
	})
	if ir != IRVersion || opset != Opset {
		t.Errorf("ir_version %d opset %d, want %d and %d", ir, opset, IRVersion, Opset)
	}
	if !slices.Equal(inputs, []string{"x", "w"}) || len(inits) != 1 || slices.Contains(inits, "w") {
		t.Errorf("inputs %v initializers %v: parameters must be inputs, constants initializers", inputs, inits)
	}
	if !slices.Equal(dims, []string{"batch", "4"}) {
		t.Errorf("dims of x encoded as %v", dims)
	}

	// The symbolic batch dim takes any size at run time.
	s := session(t, g)
	wt := ort.F32Tensor([]float32{1, 0, 0, 1, 1, 1, 0, 0}, 4, 2)
	for _, b := range []int64{1, 3} {
		out := run(t, s, []*ort.Tensor{ort.Zeros(ort.Float32, b, 4), wt}, g.outputs, map[string]int64{"batch": b})
		if !slices.Equal(out[0].Shape, []int64{b, 2}) {
			t.Errorf("batch %d: output shape %v", b, out[0].Shape)
		}
	}
}

// TestForwardValues checks ops against plain-Go results, so that attributes and inputs are
// encoded with the meaning ONNX gives them.
func TestForwardValues(t *testing.T) {
	g := New("values")
	x := g.Input("x", Float64, D(2), D(3))
	seq := g.Gather(g.ShapeOf(x), g.Scalar(Int64, 1), 0)
	pos := g.Range(g.Scalar(Int64, 0), seq, g.Scalar(Int64, 1))
	outs := map[string]*Value{
		"softmax":   g.Softmax(x, 0),
		"sum":       g.ReduceSum(x, []int64{-1}, false),
		"max":       g.ReduceMax(x, []int64{0}, false),
		"gather":    g.Gather(x, g.ConstI64([]int64{2, 0}), 1),
		"gatherel":  g.GatherElements(x, g.ConstI64([]int64{2, 2, 0, 1, 0, 1}, 2, 3), 1),
		"slice":     g.Slice(x, []int64{-1}, []int64{-100}, []int64{1}, []int64{-2}),
		"slicemid":  g.Slice(x, []int64{1}, []int64{2}, []int64{1}, nil),
		"sliceall":  g.Slice(x, []int64{-5}, []int64{100}, []int64{1}, nil),
		"slicenone": g.Slice(x, []int64{2}, []int64{1}, []int64{1}, nil),
		"gatherneg": g.GatherElements(x, g.ConstI64([]int64{-1, 0, -2}, 1, 3), 0),
		"gatheroob": g.GatherElements(x, g.ConstI64([]int64{2, -3, 0}, 1, 3), 0),
		"gather32":  g.GatherElements(x, g.Cast(g.ConstI64([]int64{1, 1, 0, 0}, 2, 2), Int32), 1),
		"trilu":     g.Trilu(x, false, 0),
		"triluup":   g.Trilu(x, true, 1),
		"cumsum":    g.CumSum(x, 1),
		"causal":    g.Cast(g.Not(g.Greater(g.Unsqueeze(pos, 0), g.Unsqueeze(pos, 1))), Float64),
		"transpose": g.Transpose(x),
		"split":     g.Split(x, 1, 1, 2)[1],
		"pow":       g.Pow(x, 2),
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range outs {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		g.Output(name, outs[name])
	}
	xs := []float64{1, 2, 3, 4, 5, 6}
	got := run(t, session(t, g), []*ort.Tensor{ort.F64Tensor(xs, 2, 3)}, g.outputs, nil)
	e := math.Exp
	want := map[string][]float64{
		"softmax":   {e(1) / (e(1) + e(4)), e(2) / (e(2) + e(5)), e(3) / (e(3) + e(6)), e(4) / (e(1) + e(4)), e(5) / (e(2) + e(5)), e(6) / (e(3) + e(6))},
		"sum":       {6, 15},
		"max":       {4, 5, 6},
		"gather":    {3, 1, 6, 4},
		"gatherel":  {3, 3, 1, 5, 4, 5},
		"slice":     {3, 1, 6, 4},
		"slicemid":  {2, 5},
		"sliceall":  {1, 2, 3, 4, 5, 6},
		"slicenone": {},
		"gatherneg": {4, 2, 3},
		"gatheroob": {0, 0, 3}, // out of range picks 0
		"gather32":  {2, 2, 4, 4},
		"trilu":     {1, 0, 0, 4, 5, 0},
		"triluup":   {0, 2, 3, 0, 0, 6},
		"cumsum":    {1, 3, 6, 4, 9, 15},
		"causal":    {1, 0, 0, 1, 1, 0, 1, 1, 1},
		"transpose": {1, 4, 2, 5, 3, 6},
		"split":     {2, 3, 5, 6},
		"pow":       {1, 4, 9, 16, 25, 36},
	}
	for i, name := range names {
		w := want[name]
		if len(got[i].F64) != len(w) {
			t.Errorf("%s: %v, want %v", name, got[i].F64, w)
			continue
		}
		for j := range w {
			if math.Abs(got[i].F64[j]-w[j]) > 1e-12 {
				t.Errorf("%s: %v, want %v", name, got[i].F64, w)
				break
			}
		}
	}
}

// Two slices that cut the same pieces (rotate-half's halves) share one Split node.
func TestSlicesShareASplit(t *testing.T) {
	g := New("halves")
	x := g.Input("x", Float32, Sym("b"), D(8))
	first := g.Slice(x, []int64{0}, []int64{4}, []int64{-1}, nil)
	before := g.NumNodes()
	second := g.Slice(x, []int64{4}, []int64{8}, []int64{-1}, nil)
	if g.NumNodes() != before {
		t.Errorf("second half added %d nodes", g.NumNodes()-before)
	}
	if first.node != second.node || first.node.op != "Split" || first == second {
		t.Errorf("halves come from %v and %v", first.node, second.node)
	}
}
