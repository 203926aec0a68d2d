// Command goldengrad writes testdata/golden: a tiny Qwen3 checkpoint, loss batches in the
// format of `ltecli grad`, and for each batch the loss and the gradient of every parameter
// computed independently of the trainer: the plain-Go float64 forward of model/qwen3 (no ONNX
// Runtime, no autodiff), the policy losses written out again here from their definitions, and
// central finite differences over every parameter. It also writes the gradient of the SFT loss
// (mean negative log-likelihood of the response tokens). `make test` reads the files; it does
// not run this command. Run it from the repository root:
//
//	go run ./scripts/goldengrad
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
	"ltecli/weights"
)

const outDir = "testdata/golden"

// The batch: three sequences of prompt + response byte tokens, the second off-policy.
var (
	sequences  = [][]int{{72, 105, 33, 32, 50, 43, 50, 61, 52, qwen3test.ImEnd}, {87, 104, 121, 63, 120, 61, 51}, {83, 111, 108, 118, 101, 58, 32, 120, 43, 49, 61, 51, qwen3test.ImEnd}}
	promptLens = []int{4, 3, 5}
	advantages = []float64{0.8, 1.3, -1.1}
	offPolicy  = []bool{false, true, false}
)

// loss mirrors the loss object of a batch file.
type loss struct {
	ClipLow              float64  `json:"clip_low"`
	ClipHigh             float64  `json:"clip_high"`
	DualClip             *float64 `json:"dual_clip"`
	KLCoef               float64  `json:"kl_coef"`
	KL                   string   `json:"kl"`
	EntropyCoef          float64  `json:"entropy_coef"`
	Agg                  string   `json:"agg"`
	MaxResponseLen       int      `json:"max_response_len"`
	Gamma                float64  `json:"gamma"`
	OffPolicyDenominator bool     `json:"off_policy_denominator"`
	OffPolicyNorm        string   `json:"off_policy_norm"`
}

type variant struct {
	name        string
	temperature float64
	loss        loss
	oldShift    []float64 // old log-prob = current + shift, cycled over tokens; nil: the current policy's
	refShift    []float64 // likewise for the reference
}

func ptr(x float64) *float64 { return &x }

var variants = []variant{
	{name: "token_mean_separate", temperature: 0.7,
		loss:     loss{ClipLow: 0.2, ClipHigh: 0.28, KL: "k3", EntropyCoef: 0.01, Agg: "token-mean", Gamma: 0.1, OffPolicyDenominator: true, OffPolicyNorm: "separate"},
		oldShift: []float64{0.05, -0.3, 0.1, 0.4, -0.02}},
	{name: "sum_norm_joint", temperature: 1,
		loss:     loss{ClipLow: 0.2, ClipHigh: 0.2, DualClip: ptr(3), KLCoef: 0.1, KL: "k3", Agg: "seq-mean-token-sum-norm", MaxResponseLen: 12, Gamma: 0.1, OffPolicyNorm: "joint"},
		refShift: []float64{0.2, -0.1, 0.35}},
	{name: "seq_mean_token_mean", temperature: 1.3,
		loss:     loss{ClipLow: 0.1, ClipHigh: 0.3, KLCoef: 0.05, KL: "k2", EntropyCoef: 0.02, Agg: "seq-mean-token-mean", Gamma: 0.5, OffPolicyDenominator: true, OffPolicyNorm: "separate"},
		oldShift: []float64{-0.25, 0.02, 0.3}, refShift: []float64{0.1, -0.2}},
	{name: "seq_mean_token_sum", temperature: 1,
		loss:     loss{ClipLow: 0.2, ClipHigh: 0.2, KL: "k1", KLCoef: 0.02, Agg: "seq-mean-token-sum", Gamma: 0.1, OffPolicyDenominator: true, OffPolicyNorm: "joint"},
		oldShift: []float64{0.15, -0.15}, refShift: []float64{0.3}},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "goldengrad:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := qwen3test.Config(true)
	cfg.NumHiddenLayers = 1
	modelDir := filepath.Join(outDir, "model")
	store, err := qwen3test.Write(modelDir, cfg, 11, 0.3, weights.F32)
	if err != nil {
		return err
	}
	// Log-probs and entropies at every temperature used, at the checkpoint's parameters.
	score := func(s *weights.Store, temp float64) (logp, ent [][]float64) {
		ref := qwen3.NewReference(cfg, s)
		for i, ids := range sequences {
			logits := ref.Logits(ids)
			var lp, h []float64
			for t := promptLens[i] - 1; t+1 < len(ids); t++ {
				lsm := qwen3.LogSoftmax(logits[t], temp)
				lp = append(lp, lsm[ids[t+1]])
				var e float64
				for _, l := range lsm {
					e -= math.Exp(l) * l
				}
				h = append(h, e)
			}
			logp, ent = append(logp, lp), append(ent, h)
		}
		return logp, ent
	}
	type fixed struct{ old, ref [][]float64 }
	fixedOf := make([]fixed, len(variants))
	for vi, v := range variants {
		logp, _ := score(store, v.temperature)
		fixedOf[vi] = fixed{old: shifted(logp, v.oldShift), ref: shifted(logp, v.refShift)}
		if err := writeBatch(v, fixedOf[vi].old, fixedOf[vi].ref); err != nil {
			return err
		}
	}
	losses := func(s *weights.Store) []float64 {
		out := make([]float64, len(variants)+1)
		cache := map[float64][2][][]float64{}
		for vi, v := range variants {
			c, ok := cache[v.temperature]
			if !ok {
				lp, h := score(s, v.temperature)
				c = [2][][]float64{lp, h}
				cache[v.temperature] = c
			}
			out[vi] = policyLoss(v.loss, c[0], c[1], fixedOf[vi].old, fixedOf[vi].ref)
		}
		lp, ok := cache[1]
		if !ok {
			l, h := score(s, 1)
			lp = [2][][]float64{l, h}
		}
		out[len(variants)] = sftLoss(lp[0])
		return out
	}
	base := losses(store)
	grads := make([]*weights.Store, len(variants)+1)
	for i := range grads {
		grads[i] = store.ZerosLike()
	}
	for k := range store.Data {
		p := store.Data[k]
		_, e := math.Frexp(float64(p))
		h := math.Ldexp(1, e-12)
		if p == 0 {
			h = 1e-6
		}
		up, down := float32(float64(p)+h), float32(float64(p)-h)
		hp, hm := float64(up)-float64(p), float64(p)-float64(down) // the steps float32 could take
		store.Data[k] = up
		fu := losses(store)
		store.Data[k] = down
		fd := losses(store)
		store.Data[k] = p
		for i := range grads {
			// Central difference for unequal steps, second order: exact for quadratics.
			grads[i].Data[k] = float32((hm*hm*(fu[i]-base[i]) + hp*hp*(base[i]-fd[i])) / (hp * hm * (hp + hm)))
		}
		if k%1000 == 0 {
			fmt.Fprintf(os.Stderr, "parameter %d of %d\n", k, len(store.Data))
		}
	}
	for i := range grads {
		name, meta := "sft", map[string]string{"loss": fmt.Sprintf("%.17g", base[i]), "temperature": "1"}
		if i < len(variants) {
			name, meta["temperature"] = variants[i].name, fmt.Sprint(variants[i].temperature)
		}
		if err := weights.WriteFile(filepath.Join(outDir, "grad_"+name+".safetensors"), grads[i].Tensors(), meta); err != nil {
			return err
		}
	}
	return nil
}

// shifted returns logp plus the shift cycled over all response tokens. Without a shift it is
// the current policy's log-probs held fixed, which is what a batch file without them means.
func shifted(logp [][]float64, shift []float64) [][]float64 {
	if shift == nil {
		shift = []float64{0}
	}
	out := make([][]float64, len(logp))
	k := 0
	for i, row := range logp {
		for _, v := range row {
			out[i] = append(out[i], v+shift[k%len(shift)])
			k++
		}
	}
	return out
}

func writeBatch(v variant, old, ref [][]float64) error {
	b := map[string]any{"sequences": sequences, "prompt_lens": promptLens, "advantages": advantages, "off_policy": offPolicy, "loss": v.loss}
	if v.oldShift != nil {
		b["old_logp"] = old
	}
	if v.refShift != nil {
		b["ref_logp"] = ref
	}
	raw, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "batch_"+v.name+".json"), append(raw, '\n'), 0o644)
}

// policyLoss is the GRPO/LTE loss from its definitions, with fixed (detached) old and
// reference log-probs.
func policyLoss(c loss, logp, ent, old, ref [][]float64) float64 {
	tokenLoss := make([][]float64, len(logp))
	for i := range logp {
		a := advantages[i]
		for t := range logp[i] {
			var pg float64
			if offPolicy[i] {
				r := math.Exp(logp[i][t])
				if c.OffPolicyDenominator {
					r = math.Exp(logp[i][t] - old[i][t])
				}
				pg = -a * r / (r + c.Gamma)
			} else {
				r := math.Exp(logp[i][t] - old[i][t])
				pg = math.Max(-a*r, -a*math.Min(math.Max(r, 1-c.ClipLow), 1+c.ClipHigh))
				if c.DualClip != nil && a < 0 {
					pg = math.Min(pg, -a**c.DualClip)
				}
			}
			var kl float64
			d := logp[i][t] - ref[i][t]
			switch c.KL {
			case "k1":
				kl = d
			case "k2":
				kl = d * d / 2
			case "k3":
				kl = math.Min(10, math.Max(-10, math.Exp(-d)+d-1))
			}
			tokenLoss[i] = append(tokenLoss[i], pg+c.KLCoef*kl-c.EntropyCoef*ent[i][t])
		}
	}
	// verl's aggregation over a set of sequences.
	agg := func(rows []int) float64 {
		var sum, seqSum, seqMean float64
		tokens := 0
		for _, i := range rows {
			var s float64
			for _, l := range tokenLoss[i] {
				s += l
			}
			sum += s
			seqSum += s
			seqMean += s / float64(len(tokenLoss[i]))
			tokens += len(tokenLoss[i])
		}
		switch c.Agg {
		case "token-mean":
			return sum / float64(tokens)
		case "seq-mean-token-sum":
			return seqSum / float64(len(rows))
		case "seq-mean-token-mean":
			return seqMean / float64(len(rows))
		}
		return sum / float64(c.MaxResponseLen)
	}
	var on, off, all []int
	for i := range logp {
		all = append(all, i)
		if offPolicy[i] {
			off = append(off, i)
		} else {
			on = append(on, i)
		}
	}
	if c.OffPolicyNorm == "separate" {
		return agg(on) + agg(off)
	}
	return agg(all)
}

// sftLoss is the mean negative log-likelihood of the response tokens.
func sftLoss(logp [][]float64) float64 {
	var s float64
	n := 0
	for _, row := range logp {
		for _, v := range row {
			s -= v
			n++
		}
	}
	return s / float64(n)
}
