package optim

import (
	"math"

	"ltecli/weights"
)

// GradNorm returns the Euclidean norm of all of grads' values taken together, accumulated in
// float64 in parallel. The summation order depends only on the number of values, so the
// result is the same bits on any number of cores. It is NaN or +Inf when a value is.
func GradNorm(grads *weights.Store) float64 {
	data := grads.Data
	partials := make([]float64, (len(data)+blockSize-1)/blockSize)
	forBlocks(len(data), func(b, lo, hi int) { partials[b] = sumSquares(data[lo:hi]) })
	var sum float64
	for _, s := range partials {
		sum += s
	}
	return math.Sqrt(sum)
}

// ClipGradNorm scales grads in place as torch.nn.utils.clip_grad_norm_ does: by
// maxNorm/(norm+1e-6) when that is below 1, where norm is GradNorm(grads), and returns the
// norm before clipping. With maxNorm <= 0 it only computes the norm. A non-finite norm leaves
// grads unchanged (torch would fill them with NaN); the caller should skip the step, as
// AdamW.StepWithClip does.
func ClipGradNorm(grads *weights.Store, maxNorm float64) (norm float64) {
	norm = GradNorm(grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	if coef := clipCoef(norm, maxNorm); coef != 1 {
		data := grads.Data
		forBlocks(len(data), func(_, lo, hi int) { scale(data[lo:hi], coef) })
	}
	return norm
}

// clipCoef is the factor ClipGradNorm multiplies finite gradients of the given norm by.
func clipCoef(norm, maxNorm float64) float32 {
	if maxNorm <= 0 {
		return 1
	}
	return float32(min(1, maxNorm/(norm+1e-6)))
}
