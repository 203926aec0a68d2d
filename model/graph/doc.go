// Package graph builds ONNX graphs in Go and differentiates them.
//
// # Building
//
// A Graph holds values (graph inputs, constants and node outputs), each with a DType and a
// shape of static dims (D(512)) and symbolic dims (Sym("batch")). Builder methods read like
// the math and infer every output's dtype and shape when they are called:
//
//	g := graph.New("mlp")
//	x := g.Input("x", graph.Float32, graph.Sym("batch"), graph.D(512))
//	w := g.Input("w", graph.Float32, graph.D(512), graph.D(64))
//	g.Output("y", g.Tanh(g.MatMul(x, w))) // y: float32[batch,64]
//
// Parameters are graph inputs, never initializers; constants (Scalar, ConstLike, ConstF32,
// ConstF64, ConstI64) become initializers. A Graph is not safe for concurrent use.
//
// Symbolic dims are small expressions kept in canonical form, so shapes stay exact through
// reshapes and slices: Reshape(x, -1, 512) of [batch,seq,512] is [batch*seq,512], slicing
// [:-1] or [1:] of seq gives seq-1, and Concat of past and 1 gives past+1. Int64 tensors whose
// contents the builder can see (ShapeOf, constants, and Gather, Slice, Concat, Squeeze,
// Unsqueeze, Cast, Add, Sub, Mul, Div on them) carry those contents, which makes ReshapeTo,
// Expand, ConstantOfShape and Range to run-time shapes exact. A dim the builder cannot infer
// gets an anonymous name ("?7") that equals only itself.
//
// Broadcasting follows numpy, with one restriction: two dims broadcast only when they are
// equal (same static size or same symbol) or one of them is static 1. Anything else is a
// build error. This makes undoing a broadcast in the gradient static and exact.
//
// Builder methods do not panic on bad arguments: the first error is kept with the file and
// line of the call, later calls return placeholders, and Err, Encode and VJP report it.
//
// No graph the builder emits holds ONNX's Slice or GatherElements, which crash ONNX Runtime's
// CUDA plugin provider: Slice becomes Split or Gather, GatherElements a one-hot selection
// (see their docs). TestEmittedOpTypes lists the op types of the Qwen3 engine's graphs.
//
// # Encoding
//
// Encode writes an ONNX ModelProto (IR version 10, opset 21) with google.golang.org/protobuf's
// protowire; symbolic dims of inputs and outputs become dim_param. Only nodes that some output
// depends on are written. String lists the same graph as text.
//
// # Differentiation
//
// VJP(fwd, wrt, opts) builds the backward graph from ordinary ONNX operators (ONNX Runtime's
// standard builds have no gradient kernels). Its inputs are fwd's inputs followed by a
// cotangent "d_<output>" per float output; its outputs are "d_<input>" for each wrt input.
// Forward values the rules need are recomputed in the backward graph (and only those), fan-out
// sums gradients, broadcasting is undone by ReduceSum, integer, bool and constant paths carry
// no gradient, and a wrt input that no output depends on gets zeros. An op on the
// differentiated path without a rule is an error that names the op and its node. With
// VJPOptions.Accumulate the backward graph also takes an accumulator per listed wrt input and
// returns accumulator + gradient (gradients of micro-batches add up on the device). An embedding's
// gradient (Gather on axis 0) is a ScatterElements add into the table's other gradient
// contributions (a tied LM head) or into the accumulator, so ConstantOfShape zeros are made
// for it only when neither exists.
//
// # Operators and their tests
//
// Every gradient rule is checked against central finite differences of a random projection
// Σ cotangent·output, in float64 through ONNX Runtime's CPU provider at optimisation level
// "all", on inputs with symbolic and static dims (TestVJPRules, case names in brackets); every
// test also compares ONNX Runtime's output shapes with the inferred ones.
//
//	op                      builder                              gradient test
//	Add Sub Mul Div         Add Sub Mul Div                      [Add broadcast] [Sub broadcast both sides] [Mul fan-out] [Div]
//	Max Min                 Max Min                              [Max Min broadcast] (ties split evenly)
//	Pow                     Pow (constant exponent)              [Pow 3] [Pow 2] [Pow -0.5]
//	Neg Exp Log Sqrt        Neg Exp Log Sqrt                     [Neg] [Exp] [Log] [Sqrt]
//	Reciprocal Sigmoid Tanh Reciprocal Sigmoid Tanh              [Reciprocal] [Sigmoid] [Tanh]
//	Cos Sin Abs Relu        Cos Sin Abs Relu                     [Cos] [Sin] [Abs] [Abs negative] [Relu] [Relu negative]
//	Sign                    Sign (zero gradient)                 [Sign plus x]
//	Identity Cast           Identity Cast                        [Identity] [Cast through float32]
//	Where                   Where                                [Where broadcast]
//	Softmax LogSoftmax      Softmax LogSoftmax                   [Softmax] [LogSoftmax]
//	ReduceSum ReduceMean    ReduceSum ReduceMean                 [ReduceSum] [ReduceMean]
//	ReduceMax               ReduceMax (ties split evenly)        [ReduceMax]
//	MatMul                  MatMul (batched, broadcast, rank 1)  [MatMul linear layer] [MatMul matrices] [MatMul batched broadcast] [MatMul batched transpose] [MatMul vectors]
//	Gemm                    Gemm                                 [Gemm] (all four transpose cases, bias)
//	Gather                  Gather (ScatterElements add)         [Gather embedding] (repeated ids) [Gather tied embedding] [Gather inner axis] (scalar and negative indices)
//	Equal Where ReduceSum   GatherElements (one-hot selection)   [GatherElements] [GatherElements symbolic axis]
//	Reshape                 Reshape ReshapeTo                    [Reshape] [anonymous dims from run-time shapes]
//	Transpose               Transpose                            [Transpose]
//	Concat                  Concat                               [Concat fan-out] [Concat symbolic] [anonymous dims from run-time shapes]
//	Split                   Split, Slice (step 1)                [Split] (an unused piece) [Slice static] [Slice symbolic]
//	Gather                  Slice (strided, static dims)         [Slice static]
//	Squeeze Unsqueeze       Squeeze Unsqueeze                    [Squeeze Unsqueeze]
//	Expand                  Expand                               [Expand] [anonymous dims from run-time shapes]
//	Trilu                   Trilu                                [Trilu]
//	CumSum                  CumSum                               [CumSum]
//	Shape Range             ShapeOf Range                        no gradient (integer); [integer path and unused input]
//	ConstantOfShape         ConstantOfShape                      no gradient (constant)
//	Equal Less Greater      Equal Less Greater LessOrEqual       no gradient (bool)
//	Not And Or              GreaterOrEqual Not And Or            no gradient (bool)
//	any ONNX op             Op (caller-given output types)       the rule of its op type, if any
//
// Every case also checks VJPOptions.Accumulate (for every other wrt input): with random
// accumulators those gradients are accumulator + the plain ones, the others the plain ones.
//
// Composite checks (TestVJPComposites): a two-layer MLP, causal softmax attention with a Trilu
// mask, RMSNorm, next-token log-probabilities and entropy over sliced logits, and a pre-norm
// transformer block (RMSNorm, multi-head causal attention with a Range mask, SwiGLU);
// TestBlockFloat32 checks the float32 block's gradients against the float64 ones.
// TestShapeInference, TestBuildErrors, TestVJPErrors, TestVJPZerosAndSelectedOutputs,
// TestVJPRecomputesOnlyWhatIsNeeded, TestEncodeModelProto and TestForwardValues (ops against
// plain-Go results) cover the rest.
//
// BenchmarkTransformerBlockForward and BenchmarkTransformerBlockBackward time a block of
// hidden 512, 8 heads, SwiGLU 1536 on batch 4 × seq 256 in float32; the backward graph
// (recomputation included) takes about 3× the forward.
package graph
