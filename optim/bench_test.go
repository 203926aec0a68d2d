package optim

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"ltecli/weights"
)

// benchSpecs lays out 64M parameters (256 MiB per fp32 buffer, far past any cache): 60
// [1024, 1024] matrices that decay and 4096 [1024] vectors that don't.
func benchSpecs() []weights.Spec {
	var specs []weights.Spec
	for i := range 60 {
		specs = append(specs, weights.Spec{Name: fmt.Sprintf("matrix.%d", i), Shape: []int64{1024, 1024}})
	}
	for i := range 4096 {
		specs = append(specs, weights.Spec{Name: fmt.Sprintf("vector.%d", i), Shape: []int64{1024}})
	}
	return specs
}

// benchSetup returns parameters and gradients of benchSpecs with ordinary values, and an
// optimizer past its first step (moments nonzero).
func benchSetup(b *testing.B) (*AdamW, *weights.Store, *weights.Store) {
	params := newStore(b, benchSpecs())
	grads := params.ZerosLike()
	rng := rand.New(rand.NewPCG(8, 8))
	fillNormal(rng, params.Data[:1<<20], 0.02)
	fillNormal(rng, grads.Data[:1<<20], 1e-3)
	for i := 1 << 20; i < len(params.Data); i += 1 << 20 {
		copy(params.Data[i:], params.Data[:1<<20])
		copy(grads.Data[i:], grads.Data[:1<<20])
	}
	opt := NewAdamW(params, DefaultAdamW())
	if err := opt.Update(params, grads, 1e-5); err != nil {
		b.Fatal(err)
	}
	return opt, params, grads
}

// reportThroughput reports parameters per second and GB/s at bytesPerParam.
func reportThroughput(b *testing.B, n int, bytesPerParam float64) {
	perSecond := float64(n) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSecond, "params/s")
	b.ReportMetric(perSecond*bytesPerParam/1e9, "GB/s")
}

// BenchmarkAdamW measures Update: 28 bytes per parameter (read p, g, m, v; write p, m, v).
func BenchmarkAdamW(b *testing.B) {
	opt, params, grads := benchSetup(b)
	b.ResetTimer()
	for b.Loop() {
		if err := opt.Update(params, grads, 1e-5); err != nil {
			b.Fatal(err)
		}
	}
	reportThroughput(b, len(params.Data), 28)
}

// BenchmarkStepWithClip measures the guarded step: the norm pass (4 bytes per parameter)
// and the update with the clipping coefficient fused in (28), 32 bytes per parameter.
func BenchmarkStepWithClip(b *testing.B) {
	opt, params, grads := benchSetup(b)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := opt.StepWithClip(params, grads, 1e-5, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
	reportThroughput(b, len(params.Data), 32)
}

// BenchmarkCopy is the memory-bandwidth yardstick for the benchmarks above: a plain copy
// between two buffers of the same size, split over the cores the same way, 8 bytes per
// element (read 4, write 4).
func BenchmarkCopy(b *testing.B) {
	n := newStore(b, benchSpecs()).Data
	src, dst := n, make([]float32, len(n))
	for i := range src {
		src[i] = float32(i)
	}
	b.ResetTimer()
	for b.Loop() {
		forBlocks(len(src), func(_, lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
	}
	b.ReportMetric(8*float64(len(src))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
