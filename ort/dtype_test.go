package ort

import (
	"testing"

	onnx "github.com/yalue/onnxruntime_go"
)

// TestDTypeIsONNXElementType checks each DType against ONNX Runtime's own enum of element
// types (ONNXTensorElementDataType of onnxruntime_c_api.h, through onnxruntime_go), the
// numbers the C API takes and a model file's TensorProto.DataType holds.
func TestDTypeIsONNXElementType(t *testing.T) {
	for i, tc := range []struct {
		d    DType
		want onnx.TensorElementDataType
		size int
	}{
		{Float32, onnx.TensorElementDataTypeFloat, 4},
		{Float64, onnx.TensorElementDataTypeDouble, 8},
		{Int32, onnx.TensorElementDataTypeInt32, 4},
		{Int64, onnx.TensorElementDataTypeInt64, 8},
		{Bool, onnx.TensorElementDataTypeBool, 1},
		{Float16, onnx.TensorElementDataTypeFloat16, 2},
		{BFloat16, onnx.TensorElementDataTypeBFloat16, 2},
	} {
		if int(tc.d) != int(tc.want) || !tc.d.Valid() || tc.d.elemSize() != tc.size {
			t.Errorf("case %d: %v is %d (element size %d), ONNX Runtime's is %d (size %d)", i, tc.d, int(tc.d), tc.d.elemSize(), int(tc.want), tc.size)
		}
		if got, err := dtypeOf(ortType(tc.d)); err != nil || got != tc.d {
			t.Errorf("case %d: %v through the C API's number reads back as %v, %v", i, tc.d, got, err)
		}
	}
	for _, n := range []onnx.TensorElementDataType{onnx.TensorElementDataTypeUint8, onnx.TensorElementDataTypeString, 0} {
		if DType(n).Valid() {
			t.Errorf("element type %d accepted", int(n))
		}
	}
	// Half types live on devices and in graphs only: a Go tensor of them is refused.
	if err := (&Tensor{DType: BFloat16, Shape: []int64{0}}).check(); err == nil {
		t.Error("a bfloat16 Go tensor passed the check")
	}
}
