package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"ltecli/weights"
)

// AdamWConfig holds AdamW's hyperparameters, with torch.optim.AdamW's meaning.
type AdamWConfig struct {
	// LR is the learning rate for callers without a schedule (see AdamW.LR).
	LR float64
	// Beta1 and Beta2 are the decay rates of the first and second moments, in [0, 1).
	Beta1, Beta2 float64
	// Eps is added to the bias-corrected square root of the second moment.
	Eps float64
	// WeightDecay is the decoupled decay rate: a decaying parameter is multiplied by
	// 1 - lr*WeightDecay before each Adam step.
	WeightDecay float64
	// DecayFilter reports whether a tensor takes weight decay. Nil means DecayMatrices.
	// It is read once, by NewAdamW.
	DecayFilter func(v weights.View) bool
}

// DefaultAdamW returns torch.optim.AdamW's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// weight decay 0.01, and decay only on tensors of two or more dimensions.
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// DecayMatrices is the default decay filter: weight decay on tensors of two or more
// dimensions (matrices, embeddings), none on vectors and scalars (norm weights, biases).
func DecayMatrices(v weights.View) bool { return len(v.Shape) >= 2 }

// Validate reports the first hyperparameter out of range.
func (c AdamWConfig) Validate() error {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("adamw: learning rate %g must be finite and >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("adamw: beta1 %g must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("adamw: beta2 %g must be in [0, 1)", c.Beta2)
	case !(c.Eps >= 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("adamw: eps %g must be finite and >= 0", c.Eps)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("adamw: weight decay %g must be finite and >= 0", c.WeightDecay)
	}
	return nil
}

// AdamW is the AdamW optimizer of torch.optim.AdamW over a flat parameter store: the first
// and second moments live in stores of the parameters' layout, and Update changes the
// parameters in place, in blocks spread over all cores. An AdamW is not safe for concurrent
// use.
type AdamW struct {
	// Config holds the hyperparameters; Update reads Beta1, Beta2, Eps and WeightDecay on
	// every call (DecayFilter only took effect in NewAdamW).
	Config AdamWConfig
	// Schedule is the learning-rate schedule of the run, if any (Kind "" means none). The
	// optimizer records it so that Save and LoadAdamW carry it; AdamW.LR reads it.
	Schedule ScheduleConfig
	// Step counts the updates taken; the next update uses bias corrections for Step+1.
	Step int
	// Skipped counts the steps StepWithClip skipped for a non-finite gradient norm.
	Skipped int

	m, v   *weights.Store // first and second moments, laid out like the parameters
	decays []bool         // per view: whether it takes weight decay
	runs   []decayRun     // maximal spans of consecutive views with the same decay flag
}

// decayRun is a span [start, end) of the flat buffer whose views all decay or all don't.
type decayRun struct {
	start, end int
	decay      bool
}

// NewAdamW returns an optimizer for parameters laid out like params, with zero moments.
// Only the layout of params is read. Hyperparameters are checked by Update.
func NewAdamW(params *weights.Store, cfg AdamWConfig) *AdamW {
	filter := cfg.DecayFilter
	if filter == nil {
		filter = DecayMatrices
	}
	decays := make([]bool, len(params.Views))
	for i, v := range params.Views {
		decays[i] = filter(v)
	}
	return newAdamW(params, cfg, decays)
}

func newAdamW(params *weights.Store, cfg AdamWConfig, decays []bool) *AdamW {
	o := &AdamW{Config: cfg, m: params.ZerosLike(), v: params.ZerosLike(), decays: decays}
	for i, v := range o.m.Views {
		n := len(o.runs)
		if n > 0 && o.runs[n-1].decay == decays[i] && o.runs[n-1].end == v.Offset {
			o.runs[n-1].end = v.Offset + v.Size
			continue
		}
		o.runs = append(o.runs, decayRun{start: v.Offset, end: v.Offset + v.Size, decay: decays[i]})
	}
	return o
}

// LR returns the learning rate for the next update: Schedule.LR(Step) when a schedule is
// set, Config.LR otherwise. Skipped steps do not advance Step, so they do not advance the
// schedule either.
func (o *AdamW) LR() float64 {
	if o.Schedule.Kind == "" {
		return o.Config.LR
	}
	return o.Schedule.LR(o.Step)
}

// Decays reports whether the named tensor takes weight decay.
func (o *AdamW) Decays(name string) bool {
	for i, v := range o.m.Views {
		if v.Name == name {
			return o.decays[i]
		}
	}
	return false
}

// Update takes one AdamW step at learning rate lr, in place on params, with gradients grads;
// both must have the layout the optimizer was made for. It does not look at the gradients'
// values: StepWithClip is the guarded step that skips non-finite gradients.
func (o *AdamW) Update(params, grads *weights.Store, lr float64) error {
	return o.update(params, grads, lr, 1)
}

// StepWithClip is the training step: it computes the gradients' global norm, skips the step
// when the norm is not finite (counting it in Skipped, leaving parameters, moments and Step
// as they were), and otherwise takes one Update at lr with gradients scaled as
// ClipGradNorm(grads, maxNorm) would scale them (maxNorm <= 0: no clipping). The scaling is
// fused into the update, so grads themselves are left unchanged. It returns the pre-clip norm
// and whether the step was skipped.
func (o *AdamW) StepWithClip(params, grads *weights.Store, lr, maxNorm float64) (norm float64, skipped bool, err error) {
	if err := o.checkLayout("gradients", grads); err != nil {
		return 0, false, err
	}
	norm = GradNorm(grads)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		o.Skipped++
		return norm, true, nil
	}
	return norm, false, o.update(params, grads, lr, clipCoef(norm, maxNorm))
}

func (o *AdamW) update(params, grads *weights.Store, lr float64, gradScale float32) error {
	if err := o.Config.Validate(); err != nil {
		return err
	}
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("adamw: learning rate %g must be finite and >= 0", lr)
	}
	if err := o.checkLayout("parameters", params); err != nil {
		return err
	}
	if err := o.checkLayout("gradients", grads); err != nil {
		return err
	}
	o.Step++
	defer params.Touch()
	c := o.coeffs(lr, gradScale)
	noDecay := c
	noDecay.decay = 1
	p, g, m, v := params.Data, grads.Data, o.m.Data, o.v.Data
	forBlocks(len(p), func(_, lo, hi int) {
		// The first run ending after lo, then every run up to hi.
		for r := sort.Search(len(o.runs), func(r int) bool { return o.runs[r].end > lo }); r < len(o.runs) && o.runs[r].start < hi; r++ {
			run := o.runs[r]
			a, b := max(lo, run.start), min(hi, run.end)
			k := noDecay
			if run.decay {
				k = c
			}
			adamW(p[a:b], m[a:b], v[a:b], g[a:b], k)
		}
	})
	return nil
}

// coeffs returns the scalars of update number o.Step (counting from 1) at rate lr.
func (o *AdamW) coeffs(lr float64, gradScale float32) adamCoeffs {
	cfg := o.Config
	t := float64(o.Step)
	bias1 := 1 - math.Pow(cfg.Beta1, t)
	sqrtBias2 := math.Sqrt(1 - math.Pow(cfg.Beta2, t))
	return adamCoeffs{
		decay:         1 - lr*cfg.WeightDecay,
		beta1:         float32(cfg.Beta1),
		oneMinusBeta1: float32(1 - cfg.Beta1),
		beta2:         float32(cfg.Beta2),
		oneMinusBeta2: float32(1 - cfg.Beta2),
		stepSize:      float32(lr * sqrtBias2 / bias1),
		eps:           float32(cfg.Eps * sqrtBias2),
		gradScale:     gradScale,
	}
}

// errLayout is wrapped by every layout mismatch.
var errLayout = errors.New("layout differs from the optimizer's")

// checkLayout returns an error naming the first tensor of s that differs from the layout the
// optimizer was made for.
func (o *AdamW) checkLayout(what string, s *weights.Store) error {
	want := o.m.Views
	if len(s.Views) != len(want) {
		return fmt.Errorf("adamw: %s have %d tensors, optimizer has %d: %w", what, len(s.Views), len(want), errLayout)
	}
	for i, v := range s.Views {
		w := want[i]
		if v.Name != w.Name || v.Offset != w.Offset || v.Size != w.Size || !slices.Equal(v.Shape, w.Shape) {
			return fmt.Errorf("adamw: %s tensor %d is %q %v at offset %d, optimizer has %q %v at offset %d: %w",
				what, i, v.Name, v.Shape, v.Offset, w.Name, w.Shape, w.Offset, errLayout)
		}
	}
	if len(s.Data) != len(o.m.Data) {
		return fmt.Errorf("adamw: %s hold %d values, optimizer has %d: %w", what, len(s.Data), len(o.m.Data), errLayout)
	}
	return nil
}
