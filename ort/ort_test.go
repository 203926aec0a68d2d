package ort

import (
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// addModel encodes a model computing y = a + b over float tensors of shape [n] with a
// symbolic n.
func addModel() []byte {
	return opModel("Add", 1, []string{"a", "b"}, [][]string{{"n"}, {"n"}}, []string{"n"})
}

// opModel encodes, field by field from onnx.proto, a model of one node op with the given
// inputs (dimension names per input) and one output y; elem is the ONNX element type of all.
func opModel(op string, elem uint64, inputs []string, inDims [][]string, outDims []string) []byte {
	msg := func(fields ...[]byte) []byte {
		var b []byte
		for _, f := range fields {
			b = append(b, f...)
		}
		return b
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		b := protowire.AppendTag(nil, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	str := func(num protowire.Number, s string) []byte { return bytesField(num, []byte(s)) }
	valueInfo := func(name string, dims []string) []byte {
		var shape []byte
		for _, d := range dims {
			shape = append(shape, bytesField(1, str(2, d))...) // TensorShapeProto.dim{dim_param}
		}
		tensorType := msg(varint(1, elem), bytesField(2, shape)) // elem_type, shape
		typ := bytesField(1, tensorType)                         // TypeProto.tensor_type
		return msg(str(1, name), bytesField(2, typ))             // ValueInfoProto name, type
	}
	var node []byte
	for _, in := range inputs {
		node = append(node, str(1, in)...) // NodeProto.input
	}
	node = msg(node, str(2, "y"), str(4, op)) // output, op_type
	graph := msg(bytesField(1, node), str(2, "g"))
	for i, in := range inputs {
		graph = append(graph, bytesField(11, valueInfo(in, inDims[i]))...)
	}
	graph = append(graph, bytesField(12, valueInfo("y", outDims))...)
	opset := msg(str(1, ""), varint(2, 18))
	return msg(varint(1, 8), bytesField(8, opset), bytesField(7, graph)) // ir_version, opset_import, graph
}

func TestSessionRun(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	if v := Version(); !strings.HasPrefix(v, "1.") {
		t.Fatalf("version %q", v)
	}
	s, err := NewSession(addModel(), []string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := F32Tensor([]float32{1, 2, 3}, 3)
	b := F32Tensor([]float32{10, 20, 30}, 3)
	out, err := s.Run([]*Tensor{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].F32; got[0] != 11 || got[2] != 33 || out[0].Shape[0] != 3 {
		t.Fatalf("allocated output %v %v", got, out[0].Shape)
	}
	dst := Zeros(Float32, 3)
	if _, err := s.Run([]*Tensor{a, b}, []*Tensor{dst}); err != nil {
		t.Fatal(err)
	}
	if dst.F32[1] != 22 {
		t.Fatalf("preallocated output not written in place: %v", dst.F32)
	}
	if _, err := s.Run([]*Tensor{a}, nil); err == nil {
		t.Error("wrong input count accepted")
	}
	if _, err := s.Run([]*Tensor{a, F32Tensor([]float32{1, 2}, 2)}, nil); err == nil {
		t.Error("mismatched shapes accepted")
	}
}

func TestCUDAUnavailableIsClear(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSessionConfig()
	cfg.Provider = CUDA
	_, err := NewSession(addModel(), []string{"a", "b"}, []string{"y"}, cfg)
	if err == nil {
		t.Skip("this library has a working CUDA provider")
	}
	// Whichever piece is missing, the error names it and what to do.
	hints := []string{"make setup-cuda", "LD_LIBRARY_PATH", "NVIDIA driver", "nvidia-smi"}
	if !strings.Contains(err.Error(), "CUDA") || !slices.ContainsFunc(hints, func(h string) bool { return strings.Contains(err.Error(), h) }) {
		t.Errorf("error does not explain the missing CUDA provider: %v", err)
	}
}

func TestFindLibraryHonoursORTLib(t *testing.T) {
	t.Setenv("ORT_LIB", "/nonexistent/libonnxruntime.so")
	if _, err := FindLibrary(); err == nil || !strings.Contains(err.Error(), "ORT_LIB") {
		t.Errorf("missing ORT_LIB file: error %v", err)
	}
	t.Setenv("ORT_LIB", "")
	t.Setenv("LTECLI_CACHE", t.TempDir())
	t.Chdir(os.TempDir())
	if p, err := FindLibrary(); err == nil {
		t.Logf("found %s outside the repository (user cache)", p)
	} else if !strings.Contains(err.Error(), "make setup") {
		t.Errorf("not-found error does not say what to do: %v", err)
	}
}
