package qwen3

import (
	"math"

	"ltecli/weights"
)

// Reference is a plain-Go float64 forward pass of Qwen3 on one unpadded sequence, written
// straight from the Hugging Face modelling code. It is slow and exists to check the ONNX graphs.
type Reference struct {
	cfg Config
	p   map[string][]float64
}

// NewReference copies the parameters of store (with cfg's layout) into float64.
func NewReference(cfg Config, store *weights.Store) *Reference {
	r := &Reference{cfg: cfg, p: map[string][]float64{}}
	for _, v := range store.Views {
		src := store.Slice(v)
		dst := make([]float64, len(src))
		for i, x := range src {
			dst[i] = float64(x)
		}
		r.p[v.Name] = dst
	}
	if cfg.TieWordEmbeddings {
		r.p[LMHeadName] = r.p[EmbedName]
	}
	return r
}

// Logits returns the next-token logits [T][V] of the sequence ids at positions 0..T-1.
func (r *Reference) Logits(ids []int) [][]float64 {
	c := r.cfg
	H, D := c.HiddenSize, c.HeadDim
	nh, nkv := c.NumAttentionHeads, c.NumKeyValueHeads
	T := len(ids)
	x := make([][]float64, T) // [T][H]
	for t, id := range ids {
		x[t] = append([]float64(nil), r.p[EmbedName][id*H:(id+1)*H]...)
	}
	cos, sin := ropeTables(T, D, c.RopeTheta)
	for l := 0; l < c.NumHiddenLayers; l++ {
		n := Layer(l)
		q := make([][]float64, T) // [T][nh*D]
		k := make([][]float64, T) // [T][nkv*D]
		v := make([][]float64, T)
		for t := 0; t < T; t++ {
			h := rmsNorm(x[t], r.p[n.InputNorm], c.RMSNormEps)
			q[t] = linear(h, r.p[n.Q], nh*D)
			k[t] = linear(h, r.p[n.K], nkv*D)
			v[t] = linear(h, r.p[n.V], nkv*D)
			for hd := 0; hd < nh; hd++ {
				seg := rmsNorm(q[t][hd*D:(hd+1)*D], r.p[n.QNorm], c.RMSNormEps)
				copy(q[t][hd*D:], rope(seg, cos[t], sin[t]))
			}
			for hd := 0; hd < nkv; hd++ {
				seg := rmsNorm(k[t][hd*D:(hd+1)*D], r.p[n.KNorm], c.RMSNormEps)
				copy(k[t][hd*D:], rope(seg, cos[t], sin[t]))
			}
		}
		scale := 1 / math.Sqrt(float64(D))
		group := nh / nkv
		for t := 0; t < T; t++ {
			attn := make([]float64, nh*D)
			for hd := 0; hd < nh; hd++ {
				kv := hd / group
				scores := make([]float64, t+1)
				maxScore := math.Inf(-1)
				for s := 0; s <= t; s++ {
					var dot float64
					for d := 0; d < D; d++ {
						dot += q[t][hd*D+d] * k[s][kv*D+d]
					}
					scores[s] = dot * scale
					maxScore = math.Max(maxScore, scores[s])
				}
				var sum float64
				for s := range scores {
					scores[s] = math.Exp(scores[s] - maxScore)
					sum += scores[s]
				}
				for s := range scores {
					w := scores[s] / sum
					for d := 0; d < D; d++ {
						attn[hd*D+d] += w * v[s][kv*D+d]
					}
				}
			}
			o := linear(attn, r.p[n.O], H)
			for i := range x[t] {
				x[t][i] += o[i]
			}
			h := rmsNorm(x[t], r.p[n.PostNorm], c.RMSNormEps)
			gate := linear(h, r.p[n.Gate], c.IntermediateSize)
			up := linear(h, r.p[n.Up], c.IntermediateSize)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			down := linear(gate, r.p[n.Down], H)
			for i := range x[t] {
				x[t][i] += down[i]
			}
		}
	}
	logits := make([][]float64, T)
	for t := 0; t < T; t++ {
		h := rmsNorm(x[t], r.p[FinalNormName], c.RMSNormEps)
		logits[t] = linear(h, r.p[LMHeadName], c.VocabSize)
	}
	return logits
}

// Score returns, for positions 0..T-2, the log-probability of ids[t+1] and the entropy of the
// next-token distribution of logits/temperature: the quantities of the score graph.
func (r *Reference) Score(ids []int, temperature float64) (logp, entropy []float64) {
	logits := r.Logits(ids)
	for t := 0; t+1 < len(ids); t++ {
		lsm := LogSoftmax(logits[t], temperature)
		logp = append(logp, lsm[ids[t+1]])
		var h float64
		for _, l := range lsm {
			h -= math.Exp(l) * l
		}
		entropy = append(entropy, h)
	}
	return logp, entropy
}

// LogSoftmax returns log softmax(z / temperature).
func LogSoftmax(z []float64, temperature float64) []float64 {
	out := make([]float64, len(z))
	maxZ := math.Inf(-1)
	for i, v := range z {
		out[i] = v / temperature
		maxZ = math.Max(maxZ, out[i])
	}
	var sum float64
	for _, v := range out {
		sum += math.Exp(v - maxZ)
	}
	lse := maxZ + math.Log(sum)
	for i := range out {
		out[i] -= lse
	}
	return out
}

// linear computes W x for W stored [out][in] row-major.
func linear(x, w []float64, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := 0; o < out; o++ {
		row := w[o*in : (o+1)*in]
		var s float64
		for i, xv := range x {
			s += row[i] * xv
		}
		y[o] = s
	}
	return y
}

func rmsNorm(x, w []float64, eps float64) []float64 {
	var ms float64
	for _, v := range x {
		ms += v * v
	}
	inv := 1 / math.Sqrt(ms/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * inv * w[i]
	}
	return out
}

// ropeTables returns cos and sin [T][D] of the non-interleaved rotary embedding.
func ropeTables(T, D int, theta float64) (cos, sin [][]float64) {
	cos, sin = make([][]float64, T), make([][]float64, T)
	for t := 0; t < T; t++ {
		cos[t], sin[t] = make([]float64, D), make([]float64, D)
		for i := 0; i < D/2; i++ {
			invFreq := 1 / math.Pow(theta, float64(2*i)/float64(D))
			a := float64(t) * invFreq
			cos[t][i], cos[t][i+D/2] = math.Cos(a), math.Cos(a)
			sin[t][i], sin[t][i+D/2] = math.Sin(a), math.Sin(a)
		}
	}
	return cos, sin
}

// rope applies x*cos + rotate_half(x)*sin, rotate_half(x) = [-x2, x1].
func rope(x, cos, sin []float64) []float64 {
	D := len(x)
	out := make([]float64, D)
	for i := 0; i < D/2; i++ {
		out[i] = x[i]*cos[i] - x[i+D/2]*sin[i]
		out[i+D/2] = x[i+D/2]*cos[i+D/2] + x[i]*sin[i+D/2]
	}
	return out
}
