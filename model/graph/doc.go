// Package graph builds ONNX graphs in Go and differentiates them.
//
// A Graph holds values (graph inputs, constants and node outputs) with a dtype and a shape of
// static and named symbolic dims. Builder methods read like the math (h := g.MatMul(x, w)),
// infer every output's dtype and shape at build time, and record the first error instead of
// panicking. Encode writes an ONNX ModelProto (IR version 10, opset 21) for ONNX Runtime; VJP
// builds the backward graph from ordinary ONNX operators.
package graph
