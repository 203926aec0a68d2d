package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"ltecli/model/graph"
	"ltecli/model/qwen3"
)

// emittedOpTypes is every ONNX op type the Qwen3 engine's graphs hold. ONNX Runtime's CUDA
// plugin provider crashes on Slice and GatherElements, so neither may appear; a new op type
// must be checked on the GPU (scripts/gpu-check.sh) before it is added here.
var emittedOpTypes = []string{
	"Add", "And", "Cast", "Concat", "Cos", "Div", "Equal", "Expand", "Gather", "Gemm",
	"LessOrEqual", "LogSoftmax", "MatMul", "Mul", "Neg", "Range", "Reciprocal", "ReduceMean",
	"ReduceSum", "Reshape", "Shape", "Sigmoid", "Sin", "Softmax", "Split", "Sqrt", "Squeeze",
	"Sub", "Sum", "Transpose", "Unsqueeze", "Where",
}

// modelGraphs builds the engine's Qwen3 graphs (qwen3.EngineGraphs) for a small config.
func modelGraphs(cfg qwen3.Config, p qwen3.Precision) (map[string]*graph.Graph, error) {
	out := map[string]*graph.Graph{}
	for _, name := range qwen3.EngineGraphs {
		g, err := qwen3.BuildEngineGraph(cfg, name, p)
		if err != nil {
			return nil, err
		}
		out[name] = g
	}
	return out, nil
}

// smallConfig is a Qwen3 shape with grouped queries and head_dim != hidden/heads.
func smallConfig() qwen3.Config {
	return qwen3.Config{ModelType: "qwen3", VocabSize: 37, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 6, RMSNormEps: 1e-6, RopeTheta: 10000,
		TieWordEmbeddings: true, HiddenAct: "silu"}
}

// TestEmittedOpTypes builds every engine graph and compares the op types of the encoded ONNX
// nodes with emittedOpTypes.
func TestEmittedOpTypes(t *testing.T) {
	used := map[string]string{} // op type -> a graph using it
	for _, p := range []qwen3.Precision{{}, {Compute: graph.BFloat16}, {Compute: graph.BFloat16, Emulate: true}} {
		graphs, err := modelGraphs(smallConfig(), p)
		if err != nil {
			t.Fatal(err)
		}
		for name, g := range graphs {
			model, err := g.Encode()
			if err != nil {
				t.Fatalf("%s %v: %v", name, p, err)
			}
			ops, err := nodeOpTypes(model)
			if err != nil {
				t.Fatalf("%s %v: %v", name, p, err)
			}
			for _, op := range ops {
				used[op] = name + " " + p.String()
			}
		}
	}
	for _, banned := range []string{"Slice", "GatherElements"} {
		if g, ok := used[banned]; ok {
			t.Errorf("%s emits %s, which the CUDA plugin provider cannot run", g, banned)
		}
	}
	for op, g := range used {
		if !slices.Contains(emittedOpTypes, op) {
			t.Errorf("%s emits %s, not in emittedOpTypes: check it on the GPU, then list it", g, op)
		}
	}
	for _, op := range emittedOpTypes {
		if _, ok := used[op]; !ok {
			t.Errorf("%s is listed but no graph emits it any more", op)
		}
	}
}

// nodeOpTypes reads ModelProto.graph.node[*].op_type from encoded ONNX.
func nodeOpTypes(model []byte) ([]string, error) {
	graphBytes, err := field(model, 7) // ModelProto.graph
	if err != nil {
		return nil, err
	}
	var ops []string
	for b := graphBytes; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType { // GraphProto.node
			node, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			op, err := field(node, 4) // NodeProto.op_type
			if err != nil {
				return nil, err
			}
			ops = append(ops, string(op))
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		b = b[m:]
	}
	return ops, nil
}

// field returns the first length-delimited field number num of a message.
func field(msg []byte, num protowire.Number) ([]byte, error) {
	for len(msg) > 0 {
		n, typ, k := protowire.ConsumeTag(msg)
		if k < 0 {
			return nil, protowire.ParseError(k)
		}
		msg = msg[k:]
		if n == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			return v, nil
		}
		m := protowire.ConsumeFieldValue(n, typ, msg)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		msg = msg[m:]
	}
	return nil, fmt.Errorf("field %d not found", num)
}
