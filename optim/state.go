package optim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ltecli/weights"
)

// The optimizer state file is a weights container: tensors "m/NAME" and "v/NAME" (F32, the
// parameter's shape) for every parameter NAME, and metadata under metaPrefix holding the
// hyperparameters, counters, decay groups and schedule, every number in a form that reads
// back to the same bits.
const (
	metaPrefix    = "adamw."
	metaFormat    = metaPrefix + "format"
	metaLR        = metaPrefix + "lr"
	metaBeta1     = metaPrefix + "beta1"
	metaBeta2     = metaPrefix + "beta2"
	metaEps       = metaPrefix + "eps"
	metaDecay     = metaPrefix + "weight_decay"
	metaStep      = metaPrefix + "step"
	metaSkipped   = metaPrefix + "skipped"
	metaNoDecay   = metaPrefix + "no_decay"
	metaSchedule  = metaPrefix + "schedule"
	formatVersion = "1"
)

// Save writes the optimizer state (moments, Step, Skipped, hyperparameters, which tensors
// decay, Schedule) to path as a compressed container, atomically, with extra as additional
// metadata. Keys of extra must not start with "adamw.".
func (o *AdamW) Save(path string, extra map[string]string) error {
	meta := make(map[string]string, len(extra)+11)
	for k, v := range extra {
		if strings.HasPrefix(k, metaPrefix) {
			return fmt.Errorf("save optimizer state %s: metadata key %q uses the reserved prefix %q", path, k, metaPrefix)
		}
		meta[k] = v
	}
	var noDecay []string
	for i, v := range o.m.Views {
		if !o.decays[i] {
			noDecay = append(noDecay, v.Name)
		}
	}
	noDecayJSON, err := json.Marshal(noDecay)
	if err != nil {
		return fmt.Errorf("save optimizer state %s: %w", path, err)
	}
	meta[metaFormat] = formatVersion
	meta[metaLR] = formatFloat(o.Config.LR)
	meta[metaBeta1] = formatFloat(o.Config.Beta1)
	meta[metaBeta2] = formatFloat(o.Config.Beta2)
	meta[metaEps] = formatFloat(o.Config.Eps)
	meta[metaDecay] = formatFloat(o.Config.WeightDecay)
	meta[metaStep] = strconv.Itoa(o.Step)
	meta[metaSkipped] = strconv.Itoa(o.Skipped)
	meta[metaNoDecay] = string(noDecayJSON)
	if o.Schedule.Kind != "" {
		meta[metaSchedule] = o.Schedule.String()
	}
	tensors := make([]weights.Tensor, 0, 2*len(o.m.Views))
	for _, v := range o.m.Views {
		tensors = append(tensors,
			weights.FromFloat32("m/"+v.Name, v.Shape, o.m.Slice(v), weights.F32),
			weights.FromFloat32("v/"+v.Name, v.Shape, o.v.Slice(v), weights.F32))
	}
	if err := weights.WriteContainer(path, tensors, meta); err != nil {
		return fmt.Errorf("save optimizer state: %w", err)
	}
	return nil
}

// LoadAdamW reads an optimizer state written by Save for parameters laid out like params,
// and returns it with the extra metadata given to Save. The state must hold moments of the
// same shapes for exactly params' tensors; otherwise the error names the first tensor that
// differs. The loaded optimizer continues the saved run bit for bit.
func LoadAdamW(path string, params *weights.Store) (*AdamW, map[string]string, error) {
	tensors, meta, err := weights.ReadContainer(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load optimizer state: %w", err)
	}
	fail := func(format string, args ...any) (*AdamW, map[string]string, error) {
		return nil, nil, fmt.Errorf("load optimizer state %s: %s", path, fmt.Sprintf(format, args...))
	}
	if meta[metaFormat] != formatVersion {
		return fail("format %q, want %q (not an AdamW state written by this package?)", meta[metaFormat], formatVersion)
	}
	var cfg AdamWConfig
	floats := []struct {
		key string
		dst *float64
	}{{metaLR, &cfg.LR}, {metaBeta1, &cfg.Beta1}, {metaBeta2, &cfg.Beta2}, {metaEps, &cfg.Eps}, {metaDecay, &cfg.WeightDecay}}
	for _, f := range floats {
		if *f.dst, err = strconv.ParseFloat(meta[f.key], 64); err != nil {
			return fail("metadata %s: %v", f.key, err)
		}
	}
	var step, skipped int
	if step, err = strconv.Atoi(meta[metaStep]); err != nil || step < 0 {
		return fail("metadata %s = %q: want a count", metaStep, meta[metaStep])
	}
	if skipped, err = strconv.Atoi(meta[metaSkipped]); err != nil || skipped < 0 {
		return fail("metadata %s = %q: want a count", metaSkipped, meta[metaSkipped])
	}
	var noDecayNames []string
	if err := json.Unmarshal([]byte(meta[metaNoDecay]), &noDecayNames); err != nil {
		return fail("metadata %s: %v", metaNoDecay, err)
	}
	noDecay := make(map[string]bool, len(noDecayNames))
	for _, name := range noDecayNames {
		noDecay[name] = true
	}
	var sched ScheduleConfig
	if spec, ok := meta[metaSchedule]; ok {
		if sched, err = ParseSchedule(spec); err != nil {
			return fail("metadata %s: %v", metaSchedule, err)
		}
	}

	byName := make(map[string]weights.Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	cfg.DecayFilter = func(v weights.View) bool { return !noDecay[v.Name] }
	decays := make([]bool, len(params.Views))
	for i, v := range params.Views {
		decays[i] = !noDecay[v.Name]
	}
	o := newAdamW(params, cfg, decays)
	o.Step, o.Skipped, o.Schedule = step, skipped, sched
	for _, v := range params.Views {
		for _, moment := range []struct {
			prefix string
			store  *weights.Store
		}{{"m/", o.m}, {"v/", o.v}} {
			t, ok := byName[moment.prefix+v.Name]
			if !ok {
				return fail("no moment %q for parameter tensor %q (state saved for a different model?)", moment.prefix+v.Name, v.Name)
			}
			if !slices.Equal(t.Shape, v.Shape) {
				return fail("tensor %q has shape %v in the state, %v in the parameters", v.Name, t.Shape, v.Shape)
			}
			if t.DType != weights.F32 {
				return fail("moment %q is %s, want F32", t.Name, t.DType)
			}
			if err := weights.DecodeFloat32(moment.store.Slice(v), t.DType, t.Data); err != nil {
				return fail("moment %q: %v", t.Name, err)
			}
			delete(byName, t.Name)
		}
	}
	for _, t := range tensors {
		if _, left := byName[t.Name]; left {
			return fail("state has tensor %q, which the parameters lack (state saved for a different model?)", t.Name)
		}
	}

	extra := make(map[string]string)
	for k, v := range meta {
		if !strings.HasPrefix(k, metaPrefix) {
			extra[k] = v
		}
	}
	return o, extra, nil
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
