package lte

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Metrics is one line of metrics.jsonl: a training step's numbers (RL or SFT), and the
// validation numbers of the steps that validate. A group that a line does not have is nil
// and leaves its keys out. The JSON keys are the field tags (the groups' fields flattened
// into one object, keys sorted), plus val_pass@K for each validation k and template_NAME for
// each hint template; a number that is not finite is written as null.
type Metrics struct {
	Step int `json:"step"`
	// Rollouts: the step's groups before hints (RL).
	Rollouts *RolloutMetrics
	// Hints: the none-pass groups and what hints or extra samples made of them (LTE and
	// GRPO-Extra).
	Hints *HintMetrics
	// Update: the loss and the optimizer steps (RL).
	Update *UpdateMetrics
	// Timing: where the step's time went (RL).
	Timing *TimingMetrics
	// SFT: a supervised fine-tuning step.
	SFT *SFTMetrics
	// Validation is the validation Pass@k by k (key val_pass@K).
	Validation map[int]float64
	// TrainNonePass is the share of training problems with no correct sample among G
	// (--sweep-train).
	TrainNonePass *float64 `json:"train_none_pass"`
}

// RolloutMetrics describe the step's rollouts and groups.
type RolloutMetrics struct {
	NonePass           int     `json:"none_pass"` // groups with no correct sample, before hints
	SomePass           int     `json:"some_pass"`
	AllPass            int     `json:"all_pass"`
	ZeroVarianceGroups int     `json:"zero_variance_groups"` // groups trained on, all rewards equal
	Sequences          int     `json:"sequences"`            // sequences trained on
	RewardMean         float64 `json:"reward_mean"`          // over the groups trained on
	RewardMeanBefore   float64 `json:"reward_mean_before"`   // over the plain rollouts
	ResponseLenMean    float64 `json:"response_len_mean"`    // plain rollouts, tokens
	ResponseLenMax     int     `json:"response_len_max"`
	TruncatedFrac      float64 `json:"truncated_frac"`
}

// HintMetrics describe the second round of sampling for none-pass groups.
type HintMetrics struct {
	NonePassAfter  int `json:"none_pass_after"` // groups by outcome after mixing in hinted samples
	SomePassAfter  int `json:"some_pass_after"`
	AllPassAfter   int `json:"all_pass_after"`
	HintedGroups   int `json:"hinted_groups"`
	HintedCorrect  int `json:"hinted_correct"`  // correct hinted (or extra) samples
	RescuedGroups  int `json:"rescued_groups"`  // groups that took at least one of them
	BufferProblems int `json:"buffer_problems"` // replay buffer size after the step
	BufferAnswers  int `json:"buffer_answers"`
	// Templates counts the hinted prompts by template name (key template_NAME).
	Templates map[string]int `json:"-"`
}

// UpdateMetrics describe the step's optimizer steps; the loss terms are those of its last
// mini-batch.
type UpdateMetrics struct {
	Loss            float64 `json:"loss"`
	PolicyLoss      float64 `json:"policy_loss"`
	Entropy         float64 `json:"entropy"`
	KL              float64 `json:"kl"`
	ClipFrac        float64 `json:"clip_frac"`
	OffPolicyTokens int     `json:"off_policy_tokens"`
	GradNorm        float64 `json:"grad_norm"` // before clipping
	LR              float64 `json:"lr"`
	SkippedSteps    int     `json:"skipped_steps"` // optimizer steps skipped on a non-finite gradient
}

// TimingMetrics are wall times in seconds and the training throughput.
type TimingMetrics struct {
	GenerateS  float64 `json:"time_generate_s"` // rollouts and hint round
	ScoreS     float64 `json:"time_score_s"`    // old and reference log-probs
	BackwardS  float64 `json:"time_backward_s"`
	OptimizerS float64 `json:"time_optimizer_s"`
	StepS      float64 `json:"time_step_s"`
	TokensPerS float64 `json:"tokens_per_s"` // trained tokens (prompt and response) per second
}

// SFTMetrics describe one supervised step.
type SFTMetrics struct {
	Epoch     int     `json:"epoch"`
	Loss      float64 `json:"loss"`   // mean response-token cross-entropy
	Tokens    int     `json:"tokens"` // response tokens of the batch
	GradNorm  float64 `json:"grad_norm"`
	LR        float64 `json:"lr"`
	Skipped   bool    `json:"skipped"`
	StepTimeS float64 `json:"time_step_s"`
}

// Key prefixes of the keyed maps of Metrics.
const (
	validationPrefix = "val_pass@"
	templatePrefix   = "template_"
)

// ValidationKey is the metrics key of validation Pass@k: "val_pass@4".
func ValidationKey(k int) string { return validationPrefix + strconv.Itoa(k) }

// ParseValidationKey returns the k of a validation key "val_pass@K".
func ParseValidationKey(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, validationPrefix)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(rest)
	return k, err == nil && k > 0
}

// ValidationKs returns the validation ks of the lines, in increasing order.
func ValidationKs(lines []Metrics) []int {
	seen := map[int]bool{}
	var ks []int
	for _, m := range lines {
		for k := range m.Validation {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	sort.Ints(ks)
	return ks
}

// Loss returns the step's loss (RL or SFT), if it has one.
func (m *Metrics) Loss() (float64, bool) {
	switch {
	case m.Update != nil:
		return m.Update.Loss, true
	case m.SFT != nil:
		return m.SFT.Loss, true
	}
	return 0, false
}

// StepTime returns the step's wall time in seconds, if recorded.
func (m *Metrics) StepTime() (float64, bool) {
	switch {
	case m.Timing != nil:
		return m.Timing.StepS, true
	case m.SFT != nil:
		return m.SFT.StepTimeS, true
	}
	return 0, false
}

// groups returns the pointers to the optional groups of m, in a fixed order.
func (m *Metrics) groups() []any {
	return []any{&m.Rollouts, &m.Hints, &m.Update, &m.Timing, &m.SFT}
}

// MarshalJSON writes the flat object of the line, keys sorted.
func (m Metrics) MarshalJSON() ([]byte, error) {
	flat := map[string]any{"step": m.Step}
	for _, g := range m.groups() {
		group := reflect.ValueOf(g).Elem() // *Group
		if group.IsNil() {
			continue
		}
		s := group.Elem()
		for i := range s.NumField() {
			if key := jsonKey(s.Type().Field(i)); key != "" {
				flat[key] = finite(s.Field(i).Interface())
			}
		}
	}
	if m.Hints != nil {
		for name, n := range m.Hints.Templates {
			flat[templatePrefix+name] = n
		}
	}
	for k, v := range m.Validation {
		flat[ValidationKey(k)] = finite(v)
	}
	if m.TrainNonePass != nil {
		flat["train_none_pass"] = finite(*m.TrainNonePass)
	}
	return json.Marshal(flat)
}

// UnmarshalJSON reads a line written by MarshalJSON: a group is present when a key that no
// other group has is, null reads as NaN, and keys it does not know are ignored. A line needs
// a step.
func (m *Metrics) UnmarshalJSON(data []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	*m = Metrics{}
	raw, ok := obj["step"]
	if !ok {
		return fmt.Errorf("no step")
	}
	if err := json.Unmarshal(raw, &m.Step); err != nil {
		return fmt.Errorf("step: %w", err)
	}
	groups := m.groups()
	owners := map[string]int{} // how many groups have each key
	for _, g := range groups {
		t := reflect.TypeOf(g).Elem().Elem()
		for i := range t.NumField() {
			owners[jsonKey(t.Field(i))]++
		}
	}
	for _, g := range groups {
		group := reflect.ValueOf(g).Elem()
		t := group.Type().Elem()
		s := reflect.New(t).Elem()
		present := false // a key of this group alone is in the line (an SFT line has loss too)
		for i := range t.NumField() {
			key := jsonKey(t.Field(i))
			if raw, ok := obj[key]; ok && key != "" {
				present = present || owners[key] == 1
				if err := readNumber(raw, s.Field(i).Addr().Interface()); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
		}
		if present {
			group.Set(s.Addr())
		}
	}
	for key, raw := range obj {
		switch {
		case strings.HasPrefix(key, validationPrefix):
			k, ok := ParseValidationKey(key)
			if !ok {
				return fmt.Errorf("%s: not a validation key val_pass@K", key)
			}
			var v float64
			if err := readNumber(raw, &v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if m.Validation == nil {
				m.Validation = map[int]float64{}
			}
			m.Validation[k] = v
		case strings.HasPrefix(key, templatePrefix):
			var n int
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if m.Hints == nil {
				m.Hints = &HintMetrics{}
			}
			if m.Hints.Templates == nil {
				m.Hints.Templates = map[string]int{}
			}
			m.Hints.Templates[strings.TrimPrefix(key, templatePrefix)] = n
		case key == "train_none_pass":
			var v float64
			if err := readNumber(raw, &v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			m.TrainNonePass = &v
		}
	}
	return nil
}

// jsonKey is the key of a field, "" for a field without one.
func jsonKey(f reflect.StructField) string {
	key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if key == "-" {
		return ""
	}
	return key
}

// readNumber decodes raw into dst; null sets a float to NaN (written so for a non-finite
// value) and leaves other types at zero.
func readNumber(raw json.RawMessage, dst any) error {
	if string(raw) == "null" {
		if f, ok := dst.(*float64); ok {
			*f = math.NaN()
		}
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// finite keeps JSON valid: a float that is not finite becomes nil (null).
func finite(v any) any {
	if x, ok := v.(float64); ok && (math.IsNaN(x) || math.IsInf(x, 0)) {
		return nil
	}
	return v
}
