package qwen3

import (
	"fmt"
	"math"

	"ltecli/model/graph"
)

// Graph input and output names shared by the model's graphs.
const (
	InputIDs      = "input_ids"      // int64 [B, T]
	AttentionMask = "attention_mask" // int64 [B, T] (prefill, score) or [B, P+1] (decode); 1 real, 0 pad
	Temperature   = "temperature"    // scalar: scores are of logits / temperature
	LogpOut       = "logp"           // [B, T-1]: log-probability of token t+1 after position t
	EntropyOut    = "entropy"        // [B, T-1]: entropy of the next-token distribution at t
	LogitsOut     = "logits"         // [B, V]: logits of the last position
)

// PastKey and the like name the per-layer KV cache inputs and outputs ([B, kv_heads, P, D]).
func PastKey(layer int) string      { return fmt.Sprintf("past_key.%d", layer) }
func PastValue(layer int) string    { return fmt.Sprintf("past_value.%d", layer) }
func PresentKey(layer int) string   { return fmt.Sprintf("present_key.%d", layer) }
func PresentValue(layer int) string { return fmt.Sprintf("present_value.%d", layer) }

// maskedScore is added to attention scores of masked keys: large enough to zero their weight,
// finite so that a row with no visible key (a pad query) stays finite.
const maskedScore = -1e9

// builder emits the decoder into a graph.
type builder struct {
	cfg    Config
	g      *graph.Graph
	dt     graph.DType
	params map[string]*graph.Value
}

func newBuilder(cfg Config, name string, dt graph.DType) *builder {
	b := &builder{cfg: cfg, g: graph.New(name), dt: dt, params: map[string]*graph.Value{}}
	for _, s := range cfg.ParamSpecs() {
		dims := make([]graph.Dim, len(s.Shape))
		for i, d := range s.Shape {
			dims[i] = graph.D(d)
		}
		b.params[s.Name] = b.g.Input(s.Name, dt, dims...)
	}
	return b
}

func (b *builder) scalar(x float64) *graph.Value { return b.g.Scalar(b.dt, x) }

// linear computes x W^T for W stored [out, in].
func (b *builder) linear(x *graph.Value, name string) *graph.Value {
	return b.g.MatMul(x, b.g.Transpose(b.params[name], 1, 0))
}

// rmsNorm computes x * rsqrt(mean(x^2, last axis) + eps) * w.
func (b *builder) rmsNorm(x *graph.Value, name string) *graph.Value {
	g := b.g
	ms := g.ReduceMean(g.Mul(x, x), []int64{-1}, true)
	inv := g.Reciprocal(g.Sqrt(g.Add(ms, b.scalar(b.cfg.RMSNormEps))))
	return g.Mul(g.Mul(x, inv), b.params[name])
}

// rope returns cos and sin [B, 1, T, D] for positions [B, T] (int64).
func (b *builder) rope(positions *graph.Value) (cos, sin *graph.Value) {
	g := b.g
	D := b.cfg.HeadDim
	inv := make([]float64, D/2)
	for i := range inv {
		// As transformers computes it: in fp32 for fp32 models.
		inv[i] = float64(float32(1 / math.Pow(b.cfg.RopeTheta, float64(2*i)/float64(D))))
	}
	var invFreq *graph.Value
	if b.dt == graph.Float64 {
		invFreq = g.ConstF64(inv, int64(D/2))
	} else {
		f := make([]float32, len(inv))
		for i, v := range inv {
			f[i] = float32(v)
		}
		invFreq = g.ConstF32(f, int64(D/2))
	}
	pos := g.Unsqueeze(g.Cast(positions, b.dt), -1)   // [B, T, 1]
	freqs := g.Mul(pos, invFreq)                      // [B, T, D/2]
	emb := g.Unsqueeze(g.Concat(-1, freqs, freqs), 1) // [B, 1, T, D]
	return g.Cos(emb), g.Sin(emb)
}

// applyRope computes x*cos + rotate_half(x)*sin on x [B, heads, T, D].
func (b *builder) applyRope(x, cos, sin *graph.Value) *graph.Value {
	g := b.g
	half := int64(b.cfg.HeadDim / 2)
	x1 := g.Slice(x, []int64{0}, []int64{half}, []int64{-1}, nil)
	x2 := g.Slice(x, []int64{half}, []int64{2 * half}, []int64{-1}, nil)
	rotated := g.Concat(-1, g.Neg(x2), x1)
	return g.Add(g.Mul(x, cos), g.Mul(rotated, sin))
}

// heads reshapes [B, T, n*D] to [B, n, T, D] with a per-head RMSNorm (q_norm or k_norm) when
// norm is not empty.
func (b *builder) heads(x *graph.Value, n int, norm string) *graph.Value {
	g := b.g
	x = g.Reshape(x, 0, 0, int64(n), int64(b.cfg.HeadDim)) // [B, T, n, D]
	if norm != "" {
		x = b.rmsNorm(x, norm)
	}
	return g.Transpose(x, 0, 2, 1, 3)
}

// forward runs the decoder on input ids [B, T] and returns the final hidden states [B, T, H]
// after the final norm, and each layer's keys and values [B, kv, P+T, D] (past included).
// bias [B, 1, 1, T, P+T] masks the attention scores; past may be nil (no cache).
func (b *builder) forward(ids, positions, bias *graph.Value, pastK, pastV []*graph.Value) (*graph.Value, []*graph.Value, []*graph.Value) {
	g, c := b.g, b.cfg
	nh, nkv, D := c.NumAttentionHeads, c.NumKeyValueHeads, int64(c.HeadDim)
	group := int64(nh / nkv)
	x := g.Gather(b.params[EmbedName], ids, 0) // [B, T, H]
	cos, sin := b.rope(positions)
	scale := b.scalar(1 / math.Sqrt(float64(D)))
	presentK := make([]*graph.Value, c.NumHiddenLayers)
	presentV := make([]*graph.Value, c.NumHiddenLayers)
	for l := 0; l < c.NumHiddenLayers; l++ {
		n := Layer(l)
		h := b.rmsNorm(x, n.InputNorm)
		q := b.applyRope(b.heads(b.linear(h, n.Q), nh, n.QNorm), cos, sin)  // [B, nh, T, D]
		k := b.applyRope(b.heads(b.linear(h, n.K), nkv, n.KNorm), cos, sin) // [B, nkv, T, D]
		v := b.heads(b.linear(h, n.V), nkv, "")                             // [B, nkv, T, D]
		if pastK != nil {
			k = g.Concat(2, pastK[l], k)
			v = g.Concat(2, pastV[l], v)
		}
		presentK[l], presentV[l] = k, v
		// Grouped-query attention without copying keys: query heads [B, nkv, group, T, D]
		// meet keys [B, nkv, 1, P+T, D] by broadcasting.
		q5 := g.Reshape(q, 0, int64(nkv), group, -1, D)
		k5 := g.Unsqueeze(k, 2)
		v5 := g.Unsqueeze(v, 2)
		scores := g.Add(g.Mul(g.MatMul(q5, g.Transpose(k5, 0, 1, 2, 4, 3)), scale), bias) // [B, nkv, group, T, P+T]
		attn := g.MatMul(g.Softmax(scores, -1), v5)                                       // [B, nkv, group, T, D]
		attn = g.Reshape(g.Transpose(g.Reshape(attn, 0, int64(nh), -1, D), 0, 2, 1, 3), 0, 0, int64(nh)*D)
		x = g.Add(x, b.linear(attn, n.O))
		h = b.rmsNorm(x, n.PostNorm)
		gate := b.linear(h, n.Gate)
		act := g.Mul(g.Mul(gate, g.Sigmoid(gate)), b.linear(h, n.Up))
		x = g.Add(x, b.linear(act, n.Down))
	}
	return b.rmsNorm(x, FinalNormName), presentK, presentV
}

func (b *builder) lmHead(x *graph.Value) *graph.Value {
	if b.cfg.TieWordEmbeddings {
		return b.linear(x, EmbedName)
	}
	return b.linear(x, LMHeadName)
}

// attentionBias builds the additive score mask [B, 1, 1, T, P+T] from the key mask [B, P+T]
// (1 real, 0 pad) and causality: query t (absolute position P+t) sees keys j <= P+t.
func (b *builder) attentionBias(mask *graph.Value, causal bool) *graph.Value {
	g := b.g
	keys := g.Cast(mask, graph.Bool)      // [B, K]
	allowed := g.Unsqueeze(keys, 1, 2, 3) // [B, 1, 1, 1, K]
	if causal {
		// Prefill: T == K, so query t sees keys 0..t.
		idx := g.Range(g.Scalar(graph.Int64, 0), g.Gather(g.ShapeOf(mask), g.Scalar(graph.Int64, 1), 0), g.Scalar(graph.Int64, 1)) // [K]
		visible := g.Not(g.Greater(g.Unsqueeze(idx, 0), g.Unsqueeze(idx, 1)))                                                      // [K(query), K(key)]
		allowed = g.And(allowed, g.Unsqueeze(visible, 0, 1, 2))                                                                    // [B, 1, 1, T, K]
	}
	return g.Where(allowed, b.scalar(0), b.scalar(maskedScore))
}

// positions returns cumsum(mask) - 1 over [B, K]: positions count real tokens only.
func (b *builder) positions(mask *graph.Value) *graph.Value {
	g := b.g
	return g.Sub(g.CumSum(mask, 1), g.Scalar(graph.Int64, 1))
}

// BuildScore builds score(params, input_ids [B,T], attention_mask [B,T], temperature) ->
// logp [B,T-1], entropy [B,T-1] over logits / temperature. The full [B,T,V] logits stay inside.
func BuildScore(cfg Config, dt graph.DType) (*graph.Graph, error) {
	b := newBuilder(cfg, "qwen3_score", dt)
	g := b.g
	ids := g.Input(InputIDs, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	mask := g.Input(AttentionMask, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	temp := g.Input(Temperature, dt)
	hidden, _, _ := b.forward(ids, b.positions(mask), b.attentionBias(mask, true), nil, nil)
	// Positions 0..T-2 predict tokens 1..T-1.
	hidden = g.Slice(hidden, []int64{0}, []int64{-1}, []int64{1}, nil)
	targets := g.Slice(ids, []int64{1}, []int64{math.MaxInt64}, []int64{1}, nil)
	z := g.Div(b.lmHead(hidden), temp) // [B, T-1, V]
	lsm := g.LogSoftmax(z, -1)         // [B, T-1, V]
	logp := g.Squeeze(g.GatherElements(lsm, g.Unsqueeze(targets, -1), -1), -1)
	entropy := g.Neg(g.ReduceSum(g.Mul(g.Exp(lsm), lsm), []int64{-1}, false))
	g.Output(LogpOut, logp)
	g.Output(EntropyOut, entropy)
	return g, nil
}

// BuildScoreVJP differentiates the score graph with respect to every parameter: inputs are the
// score inputs plus d_logp and d_entropy, outputs d_<param name> in ParamSpecs order.
func BuildScoreVJP(cfg Config, dt graph.DType) (*graph.Graph, error) {
	fwd, err := BuildScore(cfg, dt)
	if err != nil {
		return nil, err
	}
	var wrt []string
	for _, s := range cfg.ParamSpecs() {
		wrt = append(wrt, s.Name)
	}
	return graph.VJP(fwd, wrt, graph.VJPOptions{})
}

// BuildPrefill builds prefill(params, input_ids [B,T], attention_mask [B,T]) -> logits [B,V]
// of the last position and present_key.i / present_value.i [B, kv, T, D] for every layer.
// Batches are left-padded so that the last position is real for every row.
func BuildPrefill(cfg Config, dt graph.DType) (*graph.Graph, error) {
	b := newBuilder(cfg, "qwen3_prefill", dt)
	g := b.g
	ids := g.Input(InputIDs, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	mask := g.Input(AttentionMask, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	hidden, ks, vs := b.forward(ids, b.positions(mask), b.attentionBias(mask, true), nil, nil)
	last := g.Slice(hidden, []int64{-1}, []int64{math.MaxInt64}, []int64{1}, nil) // [B, 1, H]
	g.Output(LogitsOut, g.Squeeze(b.lmHead(last), 1))
	for l := range ks {
		g.Output(PresentKey(l), ks[l])
		g.Output(PresentValue(l), vs[l])
	}
	return g, nil
}

// BuildDecode builds decode(params, input_ids [B,1], attention_mask [B,P+1], past_key.i,
// past_value.i [B,kv,P,D]) -> logits [B,V], present_key.i / present_value.i [B,kv,P+1,D].
func BuildDecode(cfg Config, dt graph.DType) (*graph.Graph, error) {
	b := newBuilder(cfg, "qwen3_decode", dt)
	g := b.g
	kv, D := int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	ids := g.Input(InputIDs, graph.Int64, graph.Sym("batch"), graph.D(1))
	mask := g.Input(AttentionMask, graph.Int64, graph.Sym("batch"), graph.Sym("past+1"))
	pastK := make([]*graph.Value, cfg.NumHiddenLayers)
	pastV := make([]*graph.Value, cfg.NumHiddenLayers)
	for l := range pastK {
		pastK[l] = g.Input(PastKey(l), dt, graph.Sym("batch"), graph.D(kv), graph.Sym("past"), graph.D(D))
		pastV[l] = g.Input(PastValue(l), dt, graph.Sym("batch"), graph.D(kv), graph.Sym("past"), graph.D(D))
	}
	pos := g.Slice(b.positions(mask), []int64{-1}, []int64{math.MaxInt64}, []int64{1}, nil) // [B, 1]
	hidden, ks, vs := b.forward(ids, pos, b.attentionBias(mask, false), pastK, pastV)
	g.Output(LogitsOut, g.Squeeze(b.lmHead(hidden), 1))
	for l := range ks {
		g.Output(PresentKey(l), ks[l])
		g.Output(PresentValue(l), vs[l])
	}
	return g, nil
}
