package lte

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// TestMetricsLine checks the flat line a step writes against one spelled out by hand (keys
// sorted, groups flattened, template_NAME and val_pass@K, a non-finite number as null), and
// that reading it back gives the same Metrics.
func TestMetricsLine(t *testing.T) {
	sweep := 0.25
	m := Metrics{
		Step:       7,
		Rollouts:   &RolloutMetrics{NonePass: 3, SomePass: 4, AllPass: 1, ZeroVarianceGroups: 4, Sequences: 60, RewardMean: 0.5, RewardMeanBefore: 0.375, ResponseLenMean: 12.5, ResponseLenMax: 24, TruncatedFrac: 0.125},
		Hints:      &HintMetrics{NonePassAfter: 1, SomePassAfter: 6, AllPassAfter: 1, HintedGroups: 3, HintedCorrect: 5, RescuedGroups: 2, BufferProblems: 9, BufferAnswers: 17, Templates: map[string]int{"hint": 2, "concise": 1}},
		Update:     &UpdateMetrics{Loss: -0.5, PolicyLoss: -0.25, Entropy: 1.5, KL: 0.001, ClipFrac: 0.0625, OffPolicyTokens: 40, GradNorm: math.Inf(1), LR: 1e-4, SkippedSteps: 1},
		Timing:     &TimingMetrics{GenerateS: 1, ScoreS: 2, BackwardS: 3, OptimizerS: 0.5, StepS: 7, TokensPerS: 100},
		Validation: map[int]float64{1: 0.25, 8: 0.5}, TrainNonePass: &sweep,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"all_pass":1,"all_pass_after":1,"buffer_answers":17,"buffer_problems":9,"clip_frac":0.0625,"entropy":1.5,` +
		`"grad_norm":null,"hinted_correct":5,"hinted_groups":3,"kl":0.001,"loss":-0.5,"lr":0.0001,"none_pass":3,"none_pass_after":1,` +
		`"off_policy_tokens":40,"policy_loss":-0.25,"rescued_groups":2,"response_len_max":24,"response_len_mean":12.5,"reward_mean":0.5,` +
		`"reward_mean_before":0.375,"sequences":60,"skipped_steps":1,"some_pass":4,"some_pass_after":6,"step":7,"template_concise":1,` +
		`"template_hint":2,"time_backward_s":3,"time_generate_s":1,"time_optimizer_s":0.5,"time_score_s":2,"time_step_s":7,` +
		`"tokens_per_s":100,"train_none_pass":0.25,"truncated_frac":0.125,"val_pass@1":0.25,"val_pass@8":0.5,"zero_variance_groups":4}`
	if string(raw) != want {
		t.Fatalf("line\n%s\nwant\n%s", raw, want)
	}
	var back Metrics
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Update.GradNorm) {
		t.Errorf("grad_norm null read as %g, want NaN", back.Update.GradNorm)
	}
	back.Update.GradNorm = m.Update.GradNorm
	if !reflect.DeepEqual(back, m) {
		t.Errorf("read back as %+v, want %+v", back, m)
	}

	sft := Metrics{Step: 2, SFT: &SFTMetrics{Epoch: 1, Loss: 2.5, Tokens: 30, GradNorm: 0.5, LR: 0.001, Skipped: true, StepTimeS: 0.25}}
	raw, _ = json.Marshal(sft)
	if want := `{"epoch":1,"grad_norm":0.5,"loss":2.5,"lr":0.001,"skipped":true,"step":2,"time_step_s":0.25,"tokens":30}`; string(raw) != want {
		t.Errorf("SFT line %s, want %s", raw, want)
	}
	var sftBack Metrics
	if err := json.Unmarshal(raw, &sftBack); err != nil || !reflect.DeepEqual(sftBack, sft) {
		t.Errorf("SFT line read back as %+v (update %v, timing %v), %v", sftBack, sftBack.Update, sftBack.Timing, err)
	}
	if loss, ok := sft.Loss(); !ok || loss != 2.5 {
		t.Errorf("SFT loss %g, %v", loss, ok)
	}
	if s, ok := (&Metrics{Step: 0}).StepTime(); ok {
		t.Errorf("a validation line has a step time %g", s)
	}
}

func TestValidationKeys(t *testing.T) {
	for i, tc := range []struct {
		key string
		k   int
		ok  bool
	}{{"val_pass@1", 1, true}, {"val_pass@16", 16, true}, {"val_pass@0", 0, false}, {"val_pass@x", 0, false}, {"pass@4", 0, false}} {
		if k, ok := ParseValidationKey(tc.key); k != tc.k || ok != tc.ok {
			t.Errorf("case %d: %q read as %d, %v", i, tc.key, k, ok)
		}
		if tc.ok && ValidationKey(tc.k) != tc.key {
			t.Errorf("case %d: key of %d is %q", i, tc.k, ValidationKey(tc.k))
		}
	}
	lines := []Metrics{{Validation: map[int]float64{8: 0.5, 1: 0.25}}, {}, {Validation: map[int]float64{4: 0.5, 1: 0}}}
	if ks := ValidationKs(lines); !reflect.DeepEqual(ks, []int{1, 4, 8}) {
		t.Errorf("validation ks %v", ks)
	}
}
