package optim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule gives the learning rate of each step.
type Schedule interface {
	// LR returns the learning rate of the update that follows step earlier updates
	// (step counts from 0). It is a pure function of step.
	LR(step int) float64
}

// The schedule kinds. Every kind starts with a linear warm-up when WarmupSteps > 0, so
// "constant" with a warm-up is the plain linear warm-up schedule.
const (
	// Constant holds PeakLR after the warm-up.
	Constant = "constant"
	// Linear decays linearly from PeakLR at the end of the warm-up to MinRatio*PeakLR at
	// TotalSteps, and holds that floor afterwards.
	Linear = "linear"
	// Cosine decays along half a cosine from PeakLR at the end of the warm-up to
	// MinRatio*PeakLR at TotalSteps, and holds that floor afterwards.
	Cosine = "cosine"
)

// ScheduleConfig describes a schedule; it is a Schedule itself. Its text form (String,
// ParseSchedule) is "kind,lr=PEAK,warmup=STEPS,total=STEPS,min_ratio=RATIO".
type ScheduleConfig struct {
	// Kind is Constant, Linear or Cosine.
	Kind string
	// PeakLR is the learning rate at the end of the warm-up.
	PeakLR float64
	// WarmupSteps is the length of the warm-up: step t < WarmupSteps has rate
	// PeakLR*(t+1)/WarmupSteps, so the first step is not wasted at rate 0.
	WarmupSteps int
	// TotalSteps is the step at which Linear and Cosine reach their floor.
	TotalSteps int
	// MinRatio is the floor of Linear and Cosine as a fraction of PeakLR, in [0, 1].
	MinRatio float64
}

// LR implements Schedule. A negative step counts as 0.
func (c ScheduleConfig) LR(step int) float64 {
	step = max(step, 0)
	if step < c.WarmupSteps {
		return c.PeakLR * float64(step+1) / float64(c.WarmupSteps)
	}
	if c.Kind != Linear && c.Kind != Cosine {
		return c.PeakLR
	}
	progress := 1.0
	if span := c.TotalSteps - c.WarmupSteps; span > 0 {
		progress = min(1, float64(step-c.WarmupSteps)/float64(span))
	}
	decay := 1 - progress
	if c.Kind == Cosine {
		decay = 0.5 * (1 + math.Cos(math.Pi*progress))
	}
	return c.PeakLR * (c.MinRatio + (1-c.MinRatio)*decay)
}

// Validate reports the first field out of range.
func (c ScheduleConfig) Validate() error {
	switch {
	case c.Kind != Constant && c.Kind != Linear && c.Kind != Cosine:
		return fmt.Errorf("schedule kind %q: want %s, %s or %s", c.Kind, Constant, Linear, Cosine)
	case !(c.PeakLR >= 0) || math.IsInf(c.PeakLR, 0):
		return fmt.Errorf("schedule %s: learning rate %g must be finite and >= 0", c.Kind, c.PeakLR)
	case c.WarmupSteps < 0 || c.TotalSteps < 0:
		return fmt.Errorf("schedule %s: warm-up %d and total %d steps must be >= 0", c.Kind, c.WarmupSteps, c.TotalSteps)
	case c.Kind != Constant && c.TotalSteps <= c.WarmupSteps:
		return fmt.Errorf("schedule %s: total steps %d must exceed warm-up steps %d", c.Kind, c.TotalSteps, c.WarmupSteps)
	case !(c.MinRatio >= 0 && c.MinRatio <= 1):
		return fmt.Errorf("schedule %s: min ratio %g must be in [0, 1]", c.Kind, c.MinRatio)
	}
	return nil
}

// String returns the text form of c, which ParseSchedule reads back exactly.
func (c ScheduleConfig) String() string {
	return fmt.Sprintf("%s,lr=%s,warmup=%d,total=%d,min_ratio=%s", c.Kind,
		strconv.FormatFloat(c.PeakLR, 'g', -1, 64), c.WarmupSteps, c.TotalSteps,
		strconv.FormatFloat(c.MinRatio, 'g', -1, 64))
}

// ParseSchedule reads a schedule's text form: a kind ("constant", "linear", "cosine") and
// optionally comma-separated fields lr, warmup, total and min_ratio, as in
// "cosine,lr=1e-6,warmup=10,total=500,min_ratio=0.1". Fields left out are zero, so a caller
// may parse a bare kind, set the fields from other flags, and then call Validate.
func ParseSchedule(spec string) (ScheduleConfig, error) {
	parts := strings.Split(strings.TrimSpace(spec), ",")
	c := ScheduleConfig{Kind: strings.TrimSpace(parts[0])}
	if c.Kind != Constant && c.Kind != Linear && c.Kind != Cosine {
		return ScheduleConfig{}, fmt.Errorf("schedule %q: kind %q: want %s, %s or %s", spec, c.Kind, Constant, Linear, Cosine)
	}
	seen := map[string]bool{}
	for _, part := range parts[1:] {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ScheduleConfig{}, fmt.Errorf("schedule %q: field %q: want key=value", spec, part)
		}
		if seen[key] {
			return ScheduleConfig{}, fmt.Errorf("schedule %q: field %q given twice", spec, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "lr":
			c.PeakLR, err = strconv.ParseFloat(value, 64)
		case "warmup":
			c.WarmupSteps, err = strconv.Atoi(value)
		case "total":
			c.TotalSteps, err = strconv.Atoi(value)
		case "min_ratio":
			c.MinRatio, err = strconv.ParseFloat(value, 64)
		default:
			return ScheduleConfig{}, fmt.Errorf("schedule %q: unknown field %q (want lr, warmup, total or min_ratio)", spec, key)
		}
		if err != nil {
			return ScheduleConfig{}, fmt.Errorf("schedule %q: field %s: %w", spec, key, err)
		}
	}
	return c, nil
}
