package lte

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randomSequences(r *rand.Rand, n int) []Sequence {
	seqs := make([]Sequence, n)
	for i := range seqs {
		T := 1 + r.IntN(6)
		s := Sequence{Advantage: r.NormFloat64(), OffPolicy: i%3 == 2}
		for t := 0; t < T; t++ {
			logp := -3 * r.Float64()
			s.Logp = append(s.Logp, logp)
			s.Old = append(s.Old, logp+0.4*r.NormFloat64()) // ratios on both sides of the clip range
			s.Ref = append(s.Ref, logp+0.6*r.NormFloat64())
			s.Entropy = append(s.Entropy, 2*r.Float64())
		}
		seqs[i] = s
	}
	return seqs
}

func TestLossGradientsMatchFiniteDifferences(t *testing.T) {
	dual := 3.0
	configs := []LossConfig{
		DefaultLossConfig(),
		{ClipLow: 0.2, ClipHigh: 0.28, KLCoef: 0.1, KL: "k1", Agg: AggSeqMeanTokenMean, Gamma: 0.1, OffPolicyDenominator: true},
		{ClipLow: 0.1, ClipHigh: 0.3, DualClip: &dual, KLCoef: 0.5, KL: "k2", EntropyCf: 0.01, Agg: AggSeqMeanTokenSumNrm, MaxResponseLen: 8, Gamma: 0.1},
		{ClipLow: 0.2, ClipHigh: 0.2, KLCoef: 0.05, KL: "k3", EntropyCf: 0.003, Agg: AggTokenMean, Gamma: 0.5, OffPolicyDenominator: true},
		{ClipLow: 0.2, ClipHigh: 0.2, DualClip: &dual, KL: "k3", Agg: AggTokenMean, Gamma: 0.1},
		{ClipLow: 0.2, ClipHigh: 0.2, KLCoef: 0.05, KL: "k3", EntropyCf: 0.003, Agg: AggSeqMeanTokenSum, Gamma: 0.1, OffPolicyDenominator: true},
	}
	r := rand.New(rand.NewPCG(7, 8))
	const h = 1e-6
	for ci, cfg := range configs {
		seqs := randomSequences(r, 7)
		// Large negative advantages with big ratios exercise the dual clip.
		seqs[0].Advantage, seqs[0].Old[0] = -2, seqs[0].Logp[0]-2
		res, err := Loss(cfg, seqs)
		if err != nil {
			t.Fatalf("config %d: %v", ci, err)
		}
		for i := range seqs {
			for tok := range seqs[i].Logp {
				for _, which := range []string{"logp", "entropy"} {
					field := &seqs[i].Logp[tok]
					analytic := res.DLogp[i][tok]
					if which == "entropy" {
						field = &seqs[i].Entropy[tok]
						analytic = res.DEntropy[i][tok]
					}
					orig := *field
					*field = orig + h
					up, _ := Loss(cfg, seqs)
					*field = orig - h
					down, _ := Loss(cfg, seqs)
					*field = orig
					fd := (up.Loss - down.Loss) / (2 * h)
					if math.Abs(fd-analytic) > 1e-6+1e-5*math.Abs(fd) {
						t.Errorf("config %d, seq %d, token %d, d/d%s: analytic %g, finite difference %g", ci, i, tok, which, analytic, fd)
					}
				}
			}
		}
	}
}

func TestLossClosedForms(t *testing.T) {
	cfg := DefaultLossConfig()
	cases := []struct {
		name      string
		seq       Sequence
		want, dlp float64
	}{
		// r = 1: loss -A, derivative -A.
		{"on-policy at r=1", Sequence{Logp: []float64{-1}, Old: []float64{-1}, Entropy: []float64{0}, Advantage: 2}, -2, -2},
		// A > 0, r = e^0.5 > 1.2: clipped at 1.2, no gradient.
		{"clipped above", Sequence{Logp: []float64{-0.5}, Old: []float64{-1}, Entropy: []float64{0}, Advantage: 1}, -1.2, 0},
		// A < 0, r = e^-0.5 < 0.8: max(-A r, -A 0.8) = 0.8 (clipped).
		{"clipped below", Sequence{Logp: []float64{-1.5}, Old: []float64{-1}, Entropy: []float64{0}, Advantage: -1}, 0.8, 0},
		// Off-policy with denominator, r = 1: f = 1/1.1.
		{"off-policy", Sequence{Logp: []float64{-1}, Old: []float64{-1}, Entropy: []float64{0}, Advantage: 1, OffPolicy: true}, -1 / 1.1, -0.1 / (1.1 * 1.1)},
	}
	for i, c := range cases {
		res, err := Loss(cfg, []Sequence{c.seq})
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		if math.Abs(res.Loss-c.want) > 1e-12 || math.Abs(res.DLogp[0][0]-c.dlp) > 1e-12 {
			t.Errorf("case %d (%s): loss %g (want %g), dlogp %g (want %g)", i, c.name, res.Loss, c.want, res.DLogp[0][0], c.dlp)
		}
	}
	cfg.OffPolicyDenominator = false
	res, _ := Loss(cfg, []Sequence{{Logp: []float64{math.Log(0.3)}, Old: []float64{-5}, Entropy: []float64{0}, Advantage: 1, OffPolicy: true}})
	if want := -0.3 / 0.4; math.Abs(res.Loss-want) > 1e-12 {
		t.Errorf("off-policy without denominator: loss %g, want %g", res.Loss, want)
	}
}

// TestLossAggregationModes checks each aggregation against verl's definitions written out as
// closed forms on a padded loss matrix: three on-policy sequences of 1, 2 and 3 tokens at
// ratio 1, whose token losses are -A_i, and a KL term that makes the losses vary by token.
func TestLossAggregationModes(t *testing.T) {
	adv := []float64{0.5, -1.25, 2}
	lens := []int{1, 2, 3}
	const L = 8
	var seqs []Sequence
	loss := make([][]float64, len(adv)) // token losses l_it, a row per sequence
	for i, a := range adv {
		s := Sequence{Advantage: a}
		for tok := 0; tok < lens[i]; tok++ {
			lp := -0.1 * float64(1+tok+i)
			s.Logp, s.Old, s.Ref, s.Entropy = append(s.Logp, lp), append(s.Old, lp), append(s.Ref, lp-0.3), append(s.Entropy, 0)
			loss[i] = append(loss[i], -a+0.3*0.3/2) // -A r at r = 1, plus k2 = (logp - ref)^2 / 2
		}
		seqs = append(seqs, s)
	}
	sum := func(row []float64) float64 {
		var x float64
		for _, v := range row {
			x += v
		}
		return x
	}
	var all, seqMeanSum, seqMeanMean float64
	for _, row := range loss {
		all += sum(row)
		seqMeanSum += sum(row) / 3
		seqMeanMean += sum(row) / float64(len(row)) / 3
	}
	want := map[string]float64{
		AggTokenMean:          all / 6,
		AggSeqMeanTokenSum:    seqMeanSum,
		AggSeqMeanTokenMean:   seqMeanMean,
		AggSeqMeanTokenSumNrm: all / L,
	}
	// d loss / d logp of token t of sequence i: the token's weight times d l_it / d logp
	// (-A_i r = -A_i at r = 1, plus the k2 derivative logp - ref = 0.3).
	weight := map[string]func(i int) float64{
		AggTokenMean:          func(int) float64 { return 1.0 / 6 },
		AggSeqMeanTokenSum:    func(int) float64 { return 1.0 / 3 },
		AggSeqMeanTokenMean:   func(i int) float64 { return 1 / (3 * float64(lens[i])) },
		AggSeqMeanTokenSumNrm: func(int) float64 { return 1.0 / L },
	}
	for agg, w := range want {
		cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.2, KLCoef: 1, KL: "k2", Agg: agg, MaxResponseLen: L, Gamma: 0.1}
		res, err := Loss(cfg, seqs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Loss-w) > 1e-12 {
			t.Errorf("%s: loss %.15g, want %.15g", agg, res.Loss, w)
		}
		for i := range seqs {
			for tok := range seqs[i].Logp {
				if d, want := res.DLogp[i][tok], weight[agg](i)*(-adv[i]+0.3); math.Abs(d-want) > 1e-12 {
					t.Errorf("%s: d/dlogp[%d][%d] = %g, want %g", agg, i, tok, d, want)
				}
			}
		}
	}
}

// TestLossOffPolicyNormalisers: with separate normalisers the on- and off-policy parts are
// each aggregated over their own sequences, J = (1/Z') sum off + (1/Z) sum on; joint is one
// aggregation over all. Closed forms at ratio 1: an on-policy token loses -A, an off-policy
// one -A/(1+gamma).
func TestLossOffPolicyNormalisers(t *testing.T) {
	tok := func(n int, a float64, off bool) Sequence {
		s := Sequence{Advantage: a, OffPolicy: off}
		for range n {
			s.Logp, s.Old, s.Entropy = append(s.Logp, -1), append(s.Old, -1), append(s.Entropy, 0)
		}
		return s
	}
	const g = 0.1
	seqs := []Sequence{tok(2, 1, false), tok(3, -0.5, false), tok(1, 2, true), tok(4, 1.5, true)}
	on1, on2 := -1.0, 0.5              // token losses of the on-policy sequences
	off1, off2 := -2/(1+g), -1.5/(1+g) // and of the off-policy ones
	cases := []struct {
		agg, norm string
		want      float64
	}{
		{AggTokenMean, NormJoint, (2*on1 + 3*on2 + off1 + 4*off2) / 10},
		{AggTokenMean, NormSeparate, (2*on1+3*on2)/5 + (off1+4*off2)/5},
		{AggTokenMean, "", (2*on1 + 3*on2 + off1 + 4*off2) / 10},
		{AggSeqMeanTokenMean, NormJoint, (on1 + on2 + off1 + off2) / 4},
		{AggSeqMeanTokenMean, NormSeparate, (on1+on2)/2 + (off1+off2)/2},
		{AggSeqMeanTokenSum, NormSeparate, (2*on1+3*on2)/2 + (off1+4*off2)/2},
		{AggSeqMeanTokenSumNrm, NormSeparate, (2*on1 + 3*on2 + off1 + 4*off2) / 16},
	}
	for _, c := range cases {
		cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.2, Agg: c.agg, MaxResponseLen: 16, Gamma: g, OffPolicyDenominator: true, OffPolicyNorm: c.norm}
		res, err := Loss(cfg, seqs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Loss-c.want) > 1e-12 {
			t.Errorf("%s, %q: loss %.15g, want %.15g", c.agg, c.norm, res.Loss, c.want)
		}
	}
	if _, err := Loss(LossConfig{Agg: AggTokenMean, OffPolicyNorm: "both"}, seqs); err == nil {
		t.Error("unknown off-policy normalisation accepted")
	}
	if DefaultLossConfig().OffPolicyNorm != NormSeparate {
		t.Error("the default is not the objective as LTE writes it (separate normalisers)")
	}
}

func TestLossRejectsBadConfig(t *testing.T) {
	bad := []LossConfig{
		{Agg: "mean", KL: "k1"},
		{Agg: AggSeqMeanTokenSumNrm, KL: "k1"},
		{Agg: AggTokenMean, KL: "k9"},
		{Agg: AggTokenMean, KL: "", KLCoef: 1},
	}
	for i, cfg := range bad {
		if _, err := Loss(cfg, nil); err == nil {
			t.Errorf("case %d: config %+v accepted", i, cfg)
		}
	}
	if _, err := Loss(DefaultLossConfig(), []Sequence{{Logp: []float64{1, 2}, Old: []float64{1}, Entropy: []float64{0, 0}}}); err == nil {
		t.Error("mismatched lengths accepted")
	}
}
