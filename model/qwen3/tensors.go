package qwen3

import (
	"ltecli/model/graph"
	"ltecli/ort"
)

// Host-side tensor helpers of the engine: activations are ort.Tensors of the graphs' float type
// (float32, or float64 for exact checks), laid out row-major.

// newFloat allocates a zeroed tensor of the engine's float type.
func newFloat(dt graph.DType, shape ...int64) *ort.Tensor {
	if dt == graph.Float64 {
		return ort.Zeros(ort.Float64, shape...)
	}
	return ort.Zeros(ort.Float32, shape...)
}

// floatsOf wraps float32 data (no copy for float32, a converted copy for float64).
func floatsOf(dt graph.DType, data []float32, shape ...int64) *ort.Tensor {
	if dt == graph.Float64 {
		return ort.F64Tensor(toF64(data), shape...)
	}
	return ort.F32Tensor(data, shape...)
}

// copyBlock copies, for each of outer blocks, n elements from src at srcOff + i*srcStride to
// dst at dstOff + i*dstStride: a strided copy of contiguous runs.
func copyBlock(dst *ort.Tensor, dstOff, dstStride int, src *ort.Tensor, srcOff, srcStride, n, outer int) {
	if dst.DType == ort.Float64 {
		for i := 0; i < outer; i++ {
			copy(dst.F64[dstOff+i*dstStride:dstOff+i*dstStride+n], src.F64[srcOff+i*srcStride:srcOff+i*srcStride+n])
		}
		return
	}
	for i := 0; i < outer; i++ {
		copy(dst.F32[dstOff+i*dstStride:dstOff+i*dstStride+n], src.F32[srcOff+i*srcStride:srcOff+i*srcStride+n])
	}
}

// addBlock is copyBlock that adds into dst.
func addBlock(dst *ort.Tensor, dstOff, dstStride int, src *ort.Tensor, srcOff, srcStride, n, outer int) {
	if dst.DType == ort.Float64 {
		for i := 0; i < outer; i++ {
			d := dst.F64[dstOff+i*dstStride : dstOff+i*dstStride+n]
			for j, v := range src.F64[srcOff+i*srcStride : srcOff+i*srcStride+n] {
				d[j] += v
			}
		}
		return
	}
	for i := 0; i < outer; i++ {
		d := dst.F32[dstOff+i*dstStride : dstOff+i*dstStride+n]
		for j, v := range src.F32[srcOff+i*srcStride : srcOff+i*srcStride+n] {
			d[j] += v
		}
	}
}

// sliceAxis2 returns x[:, :, from:to, :] of a rank-4 tensor [A, B, S, D] as a new tensor.
func sliceAxis2(x *ort.Tensor, from, to int) *ort.Tensor {
	A, B, S, D := int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	if from == 0 && to == S {
		return x
	}
	out := &ort.Tensor{DType: x.DType, Shape: []int64{int64(A), int64(B), int64(to - from), int64(D)}}
	if x.DType == ort.Float64 {
		out.F64 = make([]float64, A*B*(to-from)*D)
	} else {
		out.F32 = make([]float32, A*B*(to-from)*D)
	}
	copyBlock(out, 0, (to-from)*D, x, from*D, S*D, (to-from)*D, A*B)
	return out
}

// putAxis2 writes (add false) or adds (add true) part [A, B, n, D] into x[:, :, from:from+n, :].
func putAxis2(x *ort.Tensor, from int, part *ort.Tensor, add bool) {
	A, B, S, D := int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2]), int(x.Shape[3])
	n := int(part.Shape[2])
	if add {
		addBlock(x, from*D, S*D, part, 0, n*D, n*D, A*B)
		return
	}
	copyBlock(x, from*D, S*D, part, 0, n*D, n*D, A*B)
}

// toF32 returns t's data as float32 (t itself when it is float32).
func toF32(t *ort.Tensor) []float32 {
	if t.DType == ort.Float64 {
		out := make([]float32, len(t.F64))
		for i, v := range t.F64 {
			out[i] = float32(v)
		}
		return out
	}
	return t.F32
}

func toF64(data []float32) []float64 {
	out := make([]float64, len(data))
	for i, v := range data {
		out[i] = float64(v)
	}
	return out
}
