package lte

import (
	"fmt"
	"math"
)

// Loss aggregation modes, with the definitions of verl's agg_loss: over a batch of S
// sequences with n_i response tokens each and token losses l_it,
//
//	token-mean:              sum_i sum_t l_it / sum_i n_i
//	seq-mean-token-sum:      (1/S) sum_i sum_t l_it
//	seq-mean-token-mean:     (1/S) sum_i (1/n_i) sum_t l_it
//	seq-mean-token-sum-norm: sum_i sum_t l_it / L, L a constant (the maximum response length)
//
// seq-mean-token-sum-norm (Dr. GRPO) divides by the constant only, not by the number of
// sequences, so its scale grows with the batch.
const (
	AggTokenMean          = "token-mean"
	AggSeqMeanTokenSum    = "seq-mean-token-sum"
	AggSeqMeanTokenMean   = "seq-mean-token-mean"
	AggSeqMeanTokenSumNrm = "seq-mean-token-sum-norm"
)

// How off-policy (hinted) tokens are normalised against on-policy ones.
const (
	// NormSeparate aggregates the on-policy and the off-policy sequences each on their own
	// and adds the two, J = (1/Z') sum_hinted f(r') A' + (1/Z) sum_on-policy CLIP(r, A), as
	// LTE's objective (and LUFFY's) is written: with token-mean, Z and Z' are the token counts
	// of each part.
	NormSeparate = "separate"
	// NormJoint aggregates all sequences together, one mean over every token, as LUFFY's code
	// does.
	NormJoint = "joint"
)

// LossConfig holds the policy-loss settings shared by GRPO and LTE.
type LossConfig struct {
	ClipLow   float64  `json:"clip_low"`
	ClipHigh  float64  `json:"clip_high"`
	DualClip  *float64 `json:"dual_clip"` // c > 1, applied to negative advantages; nil disables
	KLCoef    float64  `json:"kl_coef"`
	KL        string   `json:"kl"` // "k1", "k2" or "k3"
	EntropyCf float64  `json:"entropy_coef"`
	Agg       string   `json:"agg"`
	// MaxResponseLen is the constant divisor of seq-mean-token-sum-norm.
	MaxResponseLen int `json:"max_response_len"`
	// Gamma regularises the off-policy importance weight f(r) = r / (r + gamma).
	Gamma float64 `json:"gamma"`
	// OffPolicyDenominator uses r = pi_theta / pi_old for off-policy tokens; false uses
	// r = pi_theta, as LUFFY's code does.
	OffPolicyDenominator bool `json:"off_policy_denominator"`
	// OffPolicyNorm is NormSeparate or NormJoint ("" is NormJoint, the setting before the
	// choice existed).
	OffPolicyNorm string `json:"off_policy_norm"`
}

// DefaultLossConfig is GRPO's usual setting with LTE's off-policy defaults as its objective
// is written: clip 0.2, no KL, no entropy bonus, token-mean, gamma 0.1 with the denominator,
// separate normalisers for on- and off-policy tokens.
func DefaultLossConfig() LossConfig {
	return LossConfig{ClipLow: 0.2, ClipHigh: 0.2, KL: "k3", Agg: AggTokenMean, Gamma: 0.1, OffPolicyDenominator: true, OffPolicyNorm: NormSeparate}
}

// Validate reports settings that make no sense.
func (c LossConfig) Validate() error {
	switch c.Agg {
	case AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean:
	case AggSeqMeanTokenSumNrm:
		if c.MaxResponseLen <= 0 {
			return fmt.Errorf("loss: %s needs max_response_len > 0", c.Agg)
		}
	default:
		return fmt.Errorf("loss: unknown aggregation %q (want %s, %s, %s or %s)", c.Agg, AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNrm)
	}
	switch c.KL {
	case "k1", "k2", "k3":
	case "":
		if c.KLCoef != 0 {
			return fmt.Errorf("loss: kl_coef %g needs a KL estimator (k1, k2 or k3)", c.KLCoef)
		}
	default:
		return fmt.Errorf("loss: unknown KL estimator %q (want k1, k2 or k3)", c.KL)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"clip_low", c.ClipLow}, {"clip_high", c.ClipHigh}, {"kl_coef", c.KLCoef}, {"entropy_coef", c.EntropyCf}, {"gamma", c.Gamma}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("loss: %s must be a finite number, got %g", f.name, f.v)
		}
	}
	if c.ClipLow < 0 || c.ClipHigh < 0 {
		return fmt.Errorf("loss: clip bounds must be non-negative (low %g, high %g)", c.ClipLow, c.ClipHigh)
	}
	if c.DualClip != nil && !(*c.DualClip > 1 && !math.IsInf(*c.DualClip, 0)) {
		return fmt.Errorf("loss: dual_clip must exceed 1, got %g", *c.DualClip)
	}
	if c.Gamma < 0 {
		return fmt.Errorf("loss: gamma must be non-negative, got %g", c.Gamma)
	}
	switch c.OffPolicyNorm {
	case "", NormJoint, NormSeparate:
	default:
		return fmt.Errorf("loss: unknown off-policy normalisation %q (want %s or %s)", c.OffPolicyNorm, NormSeparate, NormJoint)
	}
	return nil
}

// Sequence is one response's per-token inputs to the loss. Logp, Old, Ref and Entropy have one
// entry per response token.
type Sequence struct {
	Logp      []float64 // log pi_theta(o_t | q, o_<t)
	Old       []float64 // behaviour log-probs (on-policy: pi_old; off-policy: pi_old under the hint)
	Ref       []float64 // reference log-probs (only read when KLCoef != 0)
	Entropy   []float64 // entropy of pi_theta at each position
	Advantage float64
	OffPolicy bool // trained with f(r) = r / (r + gamma) and no clipping
}

// LossResult is the aggregated loss, its derivatives per token and diagnostics.
type LossResult struct {
	Loss     float64
	DLogp    [][]float64 // d loss / d logp, per sequence and token
	DEntropy [][]float64 // d loss / d entropy
	Tokens   int
	// Means over tokens (unweighted): the policy term, the KL estimate, the entropy.
	PolicyLoss, KL, Entropy float64
	ClipFrac                float64 // fraction of on-policy tokens where the clipped branch was taken
	OffPolicyTokens         int
}

// Loss evaluates the policy loss of a batch of sequences and its derivatives with respect to
// each token's log-probability and entropy. For token t of sequence i:
//
//	on-policy:  r = exp(logp - old), pg = max(-A r, -A clip(r, 1-clip_low, 1+clip_high)),
//	            with dual clip c and A < 0: pg = min(pg, -A c)
//	off-policy: r = exp(logp - old) (or exp(logp) without the denominator), pg = -A r/(r+gamma)
//	token loss = pg + kl_coef kl - entropy_coef entropy
//
// aggregated by cfg.Agg, over all sequences together or, with NormSeparate, over the on-policy
// and the off-policy sequences each on their own, the two results added. It is a pure function
// of its inputs.
func Loss(cfg LossConfig, seqs []Sequence) (LossResult, error) {
	if err := cfg.Validate(); err != nil {
		return LossResult{}, err
	}
	res := LossResult{DLogp: make([][]float64, len(seqs)), DEntropy: make([][]float64, len(seqs))}
	for i, s := range seqs {
		n := len(s.Logp)
		if len(s.Old) != n || len(s.Entropy) != n || (cfg.KLCoef != 0 && len(s.Ref) != n) {
			return LossResult{}, fmt.Errorf("loss: sequence %d has %d logp, %d old, %d ref and %d entropy entries", i, n, len(s.Old), len(s.Ref), len(s.Entropy))
		}
		res.Tokens += n
	}
	if res.Tokens == 0 {
		for i := range seqs {
			res.DLogp[i], res.DEntropy[i] = []float64{}, []float64{}
		}
		return res, nil
	}
	weights := make([]float64, len(seqs))
	parts := [][]int{make([]int, 0, len(seqs))}
	if cfg.OffPolicyNorm == NormSeparate {
		parts = append(parts, nil)
	}
	for i, s := range seqs {
		if s.OffPolicy && len(parts) == 2 {
			parts[1] = append(parts[1], i)
		} else {
			parts[0] = append(parts[0], i)
		}
	}
	for _, part := range parts {
		tokens := 0
		for _, i := range part {
			tokens += len(seqs[i].Logp)
		}
		for _, i := range part {
			weights[i] = aggWeight(cfg, len(seqs[i].Logp), len(part), tokens)
		}
	}
	var clipped, onPolicy int
	for i, s := range seqs {
		n := len(s.Logp)
		res.DLogp[i] = make([]float64, n)
		res.DEntropy[i] = make([]float64, n)
		weight := weights[i]
		A := s.Advantage
		for t := 0; t < n; t++ {
			var pg, dpg float64
			if s.OffPolicy {
				pg, dpg = offPolicyTerm(cfg, A, s.Logp[t], s.Old[t])
				res.OffPolicyTokens++
			} else {
				var wasClipped bool
				pg, dpg, wasClipped = clippedTerm(cfg, A, s.Logp[t], s.Old[t])
				onPolicy++
				if wasClipped {
					clipped++
				}
			}
			tok, dtok := pg, dpg
			if cfg.KLCoef != 0 {
				kl, dkl := klTerm(cfg.KL, s.Logp[t], s.Ref[t])
				tok += cfg.KLCoef * kl
				dtok += cfg.KLCoef * dkl
				res.KL += kl
			}
			tok -= cfg.EntropyCf * s.Entropy[t]
			res.Loss += weight * tok
			res.DLogp[i][t] = weight * dtok
			res.DEntropy[i][t] = -weight * cfg.EntropyCf
			res.PolicyLoss += pg
			res.Entropy += s.Entropy[t]
		}
	}
	res.PolicyLoss /= float64(res.Tokens)
	res.KL /= float64(res.Tokens)
	res.Entropy /= float64(res.Tokens)
	if onPolicy > 0 {
		res.ClipFrac = float64(clipped) / float64(onPolicy)
	}
	return res, nil
}

// aggWeight is the weight of each token loss of a sequence of n tokens in a batch of seqs
// sequences and tokens tokens under cfg.Agg.
func aggWeight(cfg LossConfig, n, seqs, tokens int) float64 {
	switch {
	case n == 0:
		return 0
	case cfg.Agg == AggTokenMean:
		return 1 / float64(tokens)
	case cfg.Agg == AggSeqMeanTokenSum:
		return 1 / float64(seqs)
	case cfg.Agg == AggSeqMeanTokenMean:
		return 1 / float64(seqs*n)
	}
	return 1 / float64(cfg.MaxResponseLen) // seq-mean-token-sum-norm
}

// clippedTerm is PPO's clipped surrogate (with optional dual clip) and its derivative with
// respect to logp; clipped reports that the clipped branch was the larger.
func clippedTerm(cfg LossConfig, A, logp, old float64) (pg, dpg float64, clipped bool) {
	r := math.Exp(logp - old)
	unclipped, dUnclipped := -A*r, -A*r
	rc, dRc := r, r
	if r < 1-cfg.ClipLow {
		rc, dRc = 1-cfg.ClipLow, 0
	} else if r > 1+cfg.ClipHigh {
		rc, dRc = 1+cfg.ClipHigh, 0
	}
	clippedLoss, dClipped := -A*rc, -A*dRc
	pg, dpg = unclipped, dUnclipped
	if clippedLoss > unclipped {
		pg, dpg, clipped = clippedLoss, dClipped, true
	}
	if cfg.DualClip != nil && A < 0 {
		if lower := -A * *cfg.DualClip; lower < pg {
			pg, dpg = lower, 0
		}
	}
	return pg, dpg, clipped
}

// offPolicyTerm is -A f(r), f(r) = r/(r+gamma), and its derivative with respect to logp.
func offPolicyTerm(cfg LossConfig, A, logp, old float64) (pg, dpg float64) {
	r := math.Exp(logp)
	if cfg.OffPolicyDenominator {
		r = math.Exp(logp - old)
	}
	f := r / (r + cfg.Gamma)
	df := cfg.Gamma * r / ((r + cfg.Gamma) * (r + cfg.Gamma)) // df/dr * dr/dlogp
	return -A * f, -A * df
}

// klTerm returns the KL estimate between pi_theta and the reference at one token and its
// derivative with respect to logp.
func klTerm(kind string, logp, ref float64) (kl, dkl float64) {
	switch kind {
	case "k1":
		return logp - ref, 1
	case "k2":
		d := logp - ref
		return d * d / 2, d
	}
	u := ref - logp
	k := math.Exp(u) - u - 1
	switch {
	case k > 10:
		return 10, 0
	case k < -10:
		return -10, 0
	}
	return k, 1 - math.Exp(u)
}
