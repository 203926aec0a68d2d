package lte

import (
	"fmt"
	"sort"

	"ltecli/model/qwen3"
	"ltecli/weights"
)

// TrainSeq is one sequence to train on: the plain prompt followed by a response.
type TrainSeq struct {
	IDs       []int     // prompt + response tokens
	PromptLen int       // tokens of the prompt; the response is IDs[PromptLen:]
	Advantage float64   // the same for every response token
	Old       []float64 // behaviour log-probs of the response tokens; nil means the current policy's
	Ref       []float64 // reference log-probs of the response tokens; nil means the current policy's
	OffPolicy bool
}

// ResponseLen is the number of response tokens.
func (s TrainSeq) ResponseLen() int { return len(s.IDs) - s.PromptLen }

// Policy is what gradient computation needs from a model; *qwen3.Model implements it.
type Policy interface {
	Score(b qwen3.Batch, temperature float64) (qwen3.ScoreOutput, error)
	// ScoreVJPSum writes into grads the gradient summed over micro-batches (summed where it
	// is computed: on a GPU, it crosses to the host once).
	ScoreVJPSum(bs []qwen3.Batch, temperature float64, dLogp, dEntropy [][]float32, grads *weights.Store) error
}

// ScoredSeq is a sequence's response-token log-probs and entropies under the current policy.
type ScoredSeq struct {
	Logp, Entropy []float64
}

// MicroBatches splits sequence indices into groups of at most maxTokens padded tokens
// (rows x longest row), longest first so that padding stays small. maxTokens <= 0 puts every
// sequence in one group.
func MicroBatches(seqs []TrainSeq, maxTokens int) [][]int {
	idx := make([]int, len(seqs))
	for i := range idx {
		idx[i] = i
	}
	if maxTokens <= 0 {
		return [][]int{idx}
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(seqs[idx[a]].IDs) > len(seqs[idx[b]].IDs) })
	var out [][]int
	var cur []int
	longest := 0
	for _, i := range idx {
		l := len(seqs[i].IDs)
		if len(cur) > 0 && max(longest, l)*(len(cur)+1) > maxTokens {
			out = append(out, cur)
			cur, longest = nil, 0
		}
		cur = append(cur, i)
		longest = max(longest, l)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func batchOf(seqs []TrainSeq, group []int) qwen3.Batch {
	ids := make([][]int, len(group))
	for j, i := range group {
		ids[j] = seqs[i].IDs
	}
	return qwen3.RightPad(ids)
}

// ScoreSequences runs score over micro-batches and returns each sequence's response-token
// log-probs and entropies.
func ScoreSequences(p Policy, seqs []TrainSeq, temperature float64, maxTokens int) ([]ScoredSeq, error) {
	out := make([]ScoredSeq, len(seqs))
	for _, group := range MicroBatches(seqs, maxTokens) {
		b := batchOf(seqs, group)
		res, err := p.Score(b, temperature)
		if err != nil {
			return nil, err
		}
		for j, i := range group {
			s := seqs[i]
			if s.PromptLen < 1 || s.PromptLen > len(s.IDs) {
				return nil, fmt.Errorf("sequence %d: prompt length %d outside 1..%d", i, s.PromptLen, len(s.IDs))
			}
			logp, ent := res.Row(j, len(s.IDs))
			out[i] = ScoredSeq{Logp: toF64(logp[s.PromptLen-1:]), Entropy: toF64(ent[s.PromptLen-1:])}
		}
	}
	return out, nil
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// Gradient evaluates the loss of seqs under the current policy and writes its gradient into
// grads (overwritten). current, when not nil, holds the sequences' scores under the current
// parameters (saving a forward pass).
func Gradient(p Policy, seqs []TrainSeq, current []ScoredSeq, cfg LossConfig, temperature float64, maxTokens int, grads *weights.Store) (LossResult, error) {
	var err error
	if current == nil {
		if current, err = ScoreSequences(p, seqs, temperature, maxTokens); err != nil {
			return LossResult{}, err
		}
	}
	lossSeqs := make([]Sequence, len(seqs))
	for i, s := range seqs {
		n := s.ResponseLen()
		old, ref := s.Old, s.Ref
		if old == nil {
			old = current[i].Logp
		}
		if ref == nil {
			ref = current[i].Logp
		}
		if len(old) != n || len(ref) != n {
			return LossResult{}, fmt.Errorf("sequence %d: %d response tokens but %d old and %d ref log-probs", i, n, len(old), len(ref))
		}
		lossSeqs[i] = Sequence{Logp: current[i].Logp, Old: old, Ref: ref, Entropy: current[i].Entropy, Advantage: s.Advantage, OffPolicy: s.OffPolicy}
	}
	res, err := Loss(cfg, lossSeqs)
	if err != nil {
		return LossResult{}, err
	}
	err = backward(p, seqs, maxTokens, temperature, grads, func(group []int, b qwen3.Batch, dLogp, dEnt []float32) error {
		for j, i := range group {
			off := j*(b.T-1) + seqs[i].PromptLen - 1
			for t, d := range res.DLogp[i] {
				dLogp[off+t] = float32(d)
				dEnt[off+t] = float32(res.DEntropy[i][t])
			}
		}
		return nil
	})
	return res, err
}

// backward runs score_vjp over the micro-batches of seqs and writes the summed gradient into
// grads (overwritten); cotangents fills each micro-batch's d_logp and d_entropy ([B, T-1],
// zeroed), all of them before the backward passes run.
func backward(p Policy, seqs []TrainSeq, maxTokens int, temperature float64, grads *weights.Store,
	cotangents func(group []int, b qwen3.Batch, dLogp, dEnt []float32) error) error {
	groups := MicroBatches(seqs, maxTokens)
	bs := make([]qwen3.Batch, len(groups))
	dLogp, dEnt := make([][]float32, len(groups)), make([][]float32, len(groups))
	for gi, group := range groups {
		b := batchOf(seqs, group)
		bs[gi] = b
		dLogp[gi] = make([]float32, b.B*(b.T-1))
		dEnt[gi] = make([]float32, len(dLogp[gi]))
		if err := cotangents(group, b, dLogp[gi], dEnt[gi]); err != nil {
			return err
		}
	}
	return p.ScoreVJPSum(bs, temperature, dLogp, dEnt, grads)
}
