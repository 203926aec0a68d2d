package ort

import (
	"fmt"
	"unsafe"
)

// DType is a tensor element type, the project's one definition of it: the values are ONNX's
// element type numbers (TensorProto.DataType in a model file, ONNXTensorElementDataType in
// the C API), so model/graph writes them into the graphs it builds and the C API takes them
// as they are.
type DType int

// The element types the project passes through ONNX Runtime.
const (
	Float32 DType = 1
	Int32   DType = 6
	Int64   DType = 7
	Bool    DType = 9
	Float64 DType = 11
	// Float16 and BFloat16 exist only inside graphs (mixed-precision compute) and in device
	// Values: a Go Tensor cannot hold them.
	Float16  DType = 10
	BFloat16 DType = 16
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	case Int32:
		return "int32"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case BFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// IsFloat reports whether d is a floating-point type (the types that carry gradients).
func (d DType) IsFloat() bool { return d == Float32 || d == Float64 || d == Float16 || d == BFloat16 }

// Valid reports whether d is one of the element types above.
func (d DType) Valid() bool { return d.elemSize() > 0 }

// Tensor is a typed, shaped buffer owned by Go. Exactly one data slice matches DType. Passing
// a Tensor to Session.Run shares its memory with ONNX Runtime (no copy on the CPU provider);
// so does Device.Upload on the CPU.
type Tensor struct {
	DType DType
	Shape []int64
	F32   []float32
	F64   []float64
	I64   []int64
	I32   []int32
	B     []bool
}

// NumElements is the product of the shape.
func NumElements(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// F32Tensor wraps data with the given shape (no copy). It panics if the sizes disagree.
func F32Tensor(data []float32, shape ...int64) *Tensor {
	checkLen(len(data), shape)
	return &Tensor{DType: Float32, Shape: shape, F32: data}
}

// F64Tensor wraps data with the given shape (no copy). It panics if the sizes disagree.
func F64Tensor(data []float64, shape ...int64) *Tensor {
	checkLen(len(data), shape)
	return &Tensor{DType: Float64, Shape: shape, F64: data}
}

// I64Tensor wraps data with the given shape (no copy). It panics if the sizes disagree.
func I64Tensor(data []int64, shape ...int64) *Tensor {
	checkLen(len(data), shape)
	return &Tensor{DType: Int64, Shape: shape, I64: data}
}

// BoolTensor wraps data with the given shape (no copy). It panics if the sizes disagree.
func BoolTensor(data []bool, shape ...int64) *Tensor {
	checkLen(len(data), shape)
	return &Tensor{DType: Bool, Shape: shape, B: data}
}

// Zeros allocates a zero tensor of the given type and shape.
func Zeros(dtype DType, shape ...int64) *Tensor {
	n := NumElements(shape)
	t := &Tensor{DType: dtype, Shape: shape}
	switch dtype {
	case Float32:
		t.F32 = make([]float32, n)
	case Float64:
		t.F64 = make([]float64, n)
	case Int64:
		t.I64 = make([]int64, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Bool:
		t.B = make([]bool, n)
	default:
		panic(fmt.Sprintf("ort.Zeros: unsupported dtype %v", dtype))
	}
	return t
}

func checkLen(n int, shape []int64) {
	if want := NumElements(shape); want != n {
		panic(fmt.Sprintf("ort: %d elements for shape %v (want %d)", n, shape, want))
	}
}

// Len returns the number of elements of the data slice of t's type.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Float64:
		return len(t.F64)
	case Int64:
		return len(t.I64)
	case Int32:
		return len(t.I32)
	case Bool:
		return len(t.B)
	}
	return 0
}

// elemSize is the size in bytes of one element of d (0 if unknown).
func (d DType) elemSize() int {
	switch d {
	case Float32, Int32:
		return 4
	case Float64, Int64:
		return 8
	case Bool:
		return 1
	case Float16, BFloat16:
		return 2
	}
	return 0
}

// check reports a tensor whose data slice disagrees with its type or shape.
func (t *Tensor) check() error {
	if t.DType.elemSize() == 0 || t.DType == Float16 || t.DType == BFloat16 {
		return fmt.Errorf("unsupported dtype %v for a Go tensor", t.DType)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%v tensor of shape %v: negative dimension", t.DType, t.Shape)
		}
	}
	if n := NumElements(t.Shape); n != t.Len() {
		return fmt.Errorf("%v tensor of shape %v has %d elements, want %d", t.DType, t.Shape, t.Len(), n)
	}
	return nil
}

// data returns the address of t's first element (nil when empty) and its size in bytes.
func (t *Tensor) data() (unsafe.Pointer, int) {
	var p unsafe.Pointer
	switch t.DType {
	case Float32:
		p = unsafe.Pointer(unsafe.SliceData(t.F32))
	case Float64:
		p = unsafe.Pointer(unsafe.SliceData(t.F64))
	case Int64:
		p = unsafe.Pointer(unsafe.SliceData(t.I64))
	case Int32:
		p = unsafe.Pointer(unsafe.SliceData(t.I32))
	case Bool:
		p = unsafe.Pointer(unsafe.SliceData(t.B))
	}
	n := t.Len() * t.DType.elemSize()
	if n == 0 {
		return nil, 0
	}
	return p, n
}
