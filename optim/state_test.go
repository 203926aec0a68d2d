package optim

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ltecli/weights"
)

// trainingGrads returns the gradients of step (a pure function of it): normal values, large
// enough at some steps to be clipped, and a NaN at step 4 so that the run includes a skip.
func trainingGrads(params *weights.Store, step int) *weights.Store {
	grads := params.ZerosLike()
	fillNormal(rand.New(rand.NewPCG(100, uint64(step))), grads.Data, math.Pow(4, float64(step%3)))
	if step == 4 {
		grads.Data[17] = float32(math.NaN())
	}
	return grads
}

// train takes steps [from, to) of a run with a warm-up cosine schedule and clipping at 2.
func train(t *testing.T, opt *AdamW, params *weights.Store, from, to int) {
	t.Helper()
	for step := from; step < to; step++ {
		if _, _, err := opt.StepWithClip(params, trainingGrads(params, step), opt.LR(), 2); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}

func TestResumeIsBitwise(t *testing.T) {
	// N steps straight must equal K steps, Save, LoadAdamW, N-K steps, bit for bit.
	const n = 9
	newRun := func() (*AdamW, *weights.Store) {
		params := newStore(t, testSpecs)
		fillNormal(rand.New(rand.NewPCG(7, 7)), params.Data, 0.5)
		cfg := DefaultAdamW()
		cfg.LR, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay = 0.3, 0.8, 0.95, 1e-6, 0.2
		cfg.DecayFilter = func(v weights.View) bool { return v.Name != "lm_head.weight" }
		opt := NewAdamW(params, cfg)
		opt.Schedule = ScheduleConfig{Kind: Cosine, PeakLR: 0.01 / 3, WarmupSteps: 3, TotalSteps: n, MinRatio: 0.1}
		return opt, params
	}
	straight, want := newRun()
	train(t, straight, want, 0, n)
	if straight.Skipped != 1 || straight.Step != n-1 {
		t.Fatalf("straight run: Step %d, Skipped %d; want %d, 1", straight.Step, straight.Skipped, n-1)
	}
	for i, k := range []int{0, 3, 4, 5, n} {
		first, params := newRun()
		train(t, first, params, 0, k)
		path := filepath.Join(t.TempDir(), "optimizer.safetensors.zst")
		extra := map[string]string{"run": "resume-test", "data.position": "1234"}
		if err := first.Save(path, extra); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		resumed, gotExtra, err := LoadAdamW(path, params)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(gotExtra, extra) {
			t.Errorf("case %d: extra metadata %v, want %v", i, gotExtra, extra)
		}
		if resumed.Step != first.Step || resumed.Skipped != first.Skipped || resumed.Schedule != first.Schedule {
			t.Errorf("case %d: loaded Step %d Skipped %d Schedule %v, saved %d %d %v", i,
				resumed.Step, resumed.Skipped, resumed.Schedule, first.Step, first.Skipped, first.Schedule)
		}
		got, saved := resumed.Config, first.Config
		if got.LR != saved.LR || got.Beta1 != saved.Beta1 || got.Beta2 != saved.Beta2 || got.Eps != saved.Eps || got.WeightDecay != saved.WeightDecay {
			t.Errorf("case %d: loaded config %+v, saved %+v", i, got, saved)
		}
		for _, v := range params.Views {
			if resumed.Decays(v.Name) != first.Decays(v.Name) {
				t.Errorf("case %d: %s decays %v after loading, %v before", i, v.Name, resumed.Decays(v.Name), first.Decays(v.Name))
			}
		}
		train(t, resumed, params, k, n)
		if resumed.Step != straight.Step || resumed.Skipped != straight.Skipped {
			t.Errorf("case %d: resumed at %d: Step %d Skipped %d, straight %d %d", i, k, resumed.Step, resumed.Skipped, straight.Step, straight.Skipped)
		}
		for name, pair := range map[string][2][]float32{
			"params": {params.Data, want.Data}, "m": {resumed.m.Data, straight.m.Data}, "v": {resumed.v.Data, straight.v.Data},
		} {
			if j := sameBits(pair[0], pair[1]); j >= 0 {
				t.Errorf("case %d: resumed at %d: %s[%d] = %g, straight run %g", i, k, name, j, pair[0][j], pair[1][j])
			}
		}
	}
}

func TestLoadRejectsOtherLayouts(t *testing.T) {
	params := newStore(t, testSpecs)
	opt := NewAdamW(params, DefaultAdamW())
	path := filepath.Join(t.TempDir(), "optimizer.safetensors.zst")
	if err := opt.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(s []weights.Spec) []weights.Spec) []weights.Spec {
		return f(append([]weights.Spec(nil), testSpecs...))
	}
	cases := []struct {
		specs []weights.Spec
		want  string
	}{
		{specs: edit(func(s []weights.Spec) []weights.Spec {
			s[4] = weights.Spec{Name: s[4].Name, Shape: []int64{8, 21}}
			return s
		}), want: `tensor "layers.0.mlp.up.weight" has shape [21 8] in the state, [8 21]`},
		{specs: edit(func(s []weights.Spec) []weights.Spec {
			return append(s, weights.Spec{Name: "layers.1.norm.weight", Shape: []int64{8}})
		}), want: `parameter tensor "layers.1.norm.weight"`},
		{specs: edit(func(s []weights.Spec) []weights.Spec { return s[1:] }), want: `"m/embed.weight", which the parameters lack`},
		{specs: edit(func(s []weights.Spec) []weights.Spec {
			s[0].Name = "tok_embeddings.weight"
			return s
		}), want: `"tok_embeddings.weight"`},
	}
	for i, c := range cases {
		_, _, err := LoadAdamW(path, newStore(t, c.specs))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, c.want)
		}
	}
	if _, _, err := LoadAdamW(filepath.Join(t.TempDir(), "missing.zst"), params); err == nil {
		t.Error("loading a missing file succeeded")
	}
	other := filepath.Join(t.TempDir(), "params.safetensors.zst")
	if err := weights.WriteContainer(other, params.Tensors(), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadAdamW(other, params); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("loading a container that is not optimizer state: %v, want a format error", err)
	}
}

func TestSaveRejectsReservedMetadata(t *testing.T) {
	opt := NewAdamW(newStore(t, testSpecs), DefaultAdamW())
	err := opt.Save(filepath.Join(t.TempDir(), "o.zst"), map[string]string{"adamw.step": "3"})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("Save with an adamw. key: %v, want a reserved-prefix error", err)
	}
}
