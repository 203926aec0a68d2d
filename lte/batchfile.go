package lte

import (
	"encoding/json"
	"fmt"
	"os"
)

// BatchFile is the input of `ltecli grad` and `ltecli step`: sequences with their advantages
// and optional fixed behaviour and reference log-probs, and the loss settings.
type BatchFile struct {
	Sequences  [][]int     `json:"sequences"`   // prompt + response ids, unpadded
	PromptLens []int       `json:"prompt_lens"` // one per sequence
	Advantages []float64   `json:"advantages"`  // one per sequence
	OldLogp    [][]float64 `json:"old_logp"`    // per sequence over its response tokens; absent: the current policy's
	RefLogp    [][]float64 `json:"ref_logp"`    // likewise
	OffPolicy  []bool      `json:"off_policy"`  // absent: all on-policy
	Loss       LossConfig  `json:"loss"`
}

// ReadBatchFile reads and validates a batch file against a vocabulary size.
func ReadBatchFile(path string, vocab int) (*BatchFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b := &BatchFile{Loss: LossConfig{KL: "k1", Agg: AggTokenMean, Gamma: 0.1, OffPolicyDenominator: true, ClipLow: 0.2, ClipHigh: 0.2}}
	if err := json.Unmarshal(raw, b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := b.validate(vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func (b *BatchFile) validate(vocab int) error {
	n := len(b.Sequences)
	if n == 0 {
		return fmt.Errorf("no sequences")
	}
	if len(b.PromptLens) != n || len(b.Advantages) != n {
		return fmt.Errorf("%d sequences need as many prompt_lens (%d) and advantages (%d)", n, len(b.PromptLens), len(b.Advantages))
	}
	for name, l := range map[string]int{"old_logp": len(b.OldLogp), "ref_logp": len(b.RefLogp), "off_policy": len(b.OffPolicy)} {
		if l != 0 && l != n {
			return fmt.Errorf("%s has %d entries for %d sequences", name, l, n)
		}
	}
	for i, s := range b.Sequences {
		if b.PromptLens[i] < 1 || b.PromptLens[i] >= len(s) {
			return fmt.Errorf("sequence %d: prompt_len %d must be in 1..%d (at least one response token)", i, b.PromptLens[i], len(s)-1)
		}
		for _, id := range s {
			if id < 0 || id >= vocab {
				return fmt.Errorf("sequence %d: token %d outside the vocabulary of %d", i, id, vocab)
			}
		}
		resp := len(s) - b.PromptLens[i]
		if len(b.OldLogp) > 0 && len(b.OldLogp[i]) != resp {
			return fmt.Errorf("sequence %d: old_logp has %d entries for %d response tokens", i, len(b.OldLogp[i]), resp)
		}
		if len(b.RefLogp) > 0 && len(b.RefLogp[i]) != resp {
			return fmt.Errorf("sequence %d: ref_logp has %d entries for %d response tokens", i, len(b.RefLogp[i]), resp)
		}
	}
	return b.Loss.Validate()
}

// TrainSeqs converts the file into training sequences.
func (b *BatchFile) TrainSeqs() []TrainSeq {
	out := make([]TrainSeq, len(b.Sequences))
	for i, s := range b.Sequences {
		out[i] = TrainSeq{IDs: s, PromptLen: b.PromptLens[i], Advantage: b.Advantages[i]}
		if len(b.OldLogp) > 0 {
			out[i].Old = b.OldLogp[i]
		}
		if len(b.RefLogp) > 0 {
			out[i].Ref = b.RefLogp[i]
		}
		if len(b.OffPolicy) > 0 {
			out[i].OffPolicy = b.OffPolicy[i]
		}
	}
	return out
}
