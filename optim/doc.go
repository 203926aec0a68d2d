// Package optim updates the flat fp32 parameter store (weights.Store) with AdamW as
// torch.optim.AdamW defines it, clips gradients by their global norm as
// torch.nn.utils.clip_grad_norm_ does, gives learning-rate schedules, and saves and loads the
// optimizer state so that a resumed run continues bit for bit.
//
// A training step:
//
//	opt := optim.NewAdamW(params, optim.DefaultAdamW()) // decay on tensors of >= 2 dims
//	opt.Schedule = optim.ScheduleConfig{Kind: optim.Cosine, PeakLR: 1e-6,
//		WarmupSteps: 10, TotalSteps: 500, MinRatio: 0.1}
//	for {
//		grads := ... // a store laid out like params
//		norm, skipped, err := opt.StepWithClip(params, grads, opt.LR(), 1.0)
//		...
//	}
//	err := opt.Save("optimizer.safetensors.zst", map[string]string{"run": "..."})
//	opt, extra, err := optim.LoadAdamW("optimizer.safetensors.zst", params)
//
// StepWithClip computes the global gradient norm, skips the step (counting it in
// AdamW.Skipped) when the norm is NaN or infinite, and otherwise applies AdamW with the
// clipping coefficient folded into the same pass. Update is the unguarded step, and
// ClipGradNorm and GradNorm stand alone.
//
// # Arithmetic
//
// The moments are float32, as torch keeps them for fp32 parameters. The bias corrections
// and the per-step scalars are float64; the element loop runs in float32 except the final
// parameter update, which is combined in float64 and rounded once, so an update much
// smaller than its parameter is not lost to double rounding. The update differs from
// torch's float64 AdamW by float32 rounding only (about 1e-7 relative, plus half an ulp
// of the parameter).
//
// # Speed
//
// The update is memory-bound: it reads parameters, gradients and both moments and writes
// parameters and moments, 28 bytes per parameter, in one fused pass. Work is split into
// fixed blocks taken by one goroutine per core, and on amd64 with AVX2 the kernels run eight
// lanes at a time with results identical to the plain Go kernels. GradNorm sums in float64
// in a fixed order, so its result does not depend on the number of cores. See
// BenchmarkAdamW and BenchmarkCopy.
package optim
