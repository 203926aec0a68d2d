package qwen3

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"ltecli/model/graph"
)

// The engine's graphs. Every graph is shared by all layers (the layer's parameters are
// inputs), so that Go runs the layer loop and keeps only the hidden states at layer
// boundaries. A layer whose attention fits one query block is one graph; longer sequences
// split it in three, so that attention runs in query blocks:
//
//	layer(x, positions, key_mask, query_index, params)             -> y        (whole layer)
//	layer_qkv(x, positions, input_norm, q, k, v, q_norm, k_norm) -> q, k, v
//	attention(q, k, v, key_mask, query_index)                    -> attn      (one query block)
//	layer_out(x, attn, o, post_norm, gate, up, down)              -> y
//	head(h, targets, temperature, norm, w)                        -> logp, entropy (one token chunk)
//	logits(h, norm, w)                                            -> logits    (generation)
//	attention_step(q, cache_k, cache_v, k, v, key_mask, slot)     -> attn, k, v (decoding)
//	layer_step(x, positions, cache_k, cache_v, key_mask, key_index, slot, params) -> y, k, v (decoding, whole layer)
//	kv_grow, kv_rows                                              -> the KV cache grown, or some of its rows
//
// and the VJP of layer, layer_qkv, attention, layer_out and head (graph.VJP, recomputing
// inside; the head's written by hand), named <graph>_vjp. Embedding lookup and its gradient are row copies
// and sums done in Go.

// Graph names of the engine.
const (
	GraphQKV           = "layer_qkv"
	GraphAttention     = "attention"
	GraphLayerOut      = "layer_out"
	GraphHead          = "head"
	GraphLogits        = "logits"
	GraphAttentionStep = "attention_step"
	GraphKVGrow        = "kv_grow"
	GraphKVRows        = "kv_rows"
	GraphQKVVJP        = "layer_qkv_vjp"
	GraphAttentionVJP  = "attention_vjp"
	GraphLayerOutVJP   = "layer_out_vjp"
	GraphHeadVJP       = "head_vjp"
	GraphLayer         = "layer"
	GraphLayerVJP      = "layer_vjp"
	GraphLayerStep     = "layer_step"
)

// EngineGraphs lists every graph of the engine, forward graphs first.
var EngineGraphs = []string{GraphLayer, GraphLayerStep, GraphQKV, GraphAttention, GraphLayerOut, GraphHead, GraphLogits, GraphAttentionStep, GraphKVGrow, GraphKVRows,
	GraphLayerVJP, GraphQKVVJP, GraphAttentionVJP, GraphLayerOutVJP, GraphHeadVJP,
	GraphLayerVJP + accSuffix, GraphQKVVJP + accSuffix, GraphLayerOutVJP + accSuffix}

// Input and output names of the engine's graphs.
const (
	inX          = "x"           // [B, T, H] hidden states entering a layer
	inPositions  = "positions"   // int64 [B, T] rotary positions
	inAttn       = "attn"        // [B, T, heads*D] attention output before o_proj
	inKeyMask    = "key_mask"    // int64 [B, S]: 1 for a real key, 0 for padding
	inQueryIndex = "query_index" // int64 [Tq]: index among the S keys of each query (causality)
	inHidden     = "h"           // [N, H] hidden states before the final norm
	inTargets    = "targets"     // int64 [N]
	outQ         = "q"           // [B, heads, T, D]
	outK         = "k"           // [B, kv_heads, S, D]
	outV         = "v"           // [B, kv_heads, S, D]
	outY         = "y"           // [B, T, H]
	outAttn      = "attn"        // [B, Tq, heads*D]
	outSkip      = "skip"        // [B, T, H]: x passed through (residual gradient of layer_qkv_vjp)
	inHeadAcc    = "d_head_acc"  // [V, H]: the head gradient so far (head_vjp adds to it)
	inSlot       = "slot"        // int64 scalar: the cache position a decoded token is written to
	inKeyIndex   = "key_index"   // int64 [C]: 0..C-1, the cache's positions
	inRows       = "rows"        // int64 [n]: rows to keep (kv_rows)
	inCacheK     = "cache_k"     // [B, kv_heads, C, D]
	inCacheV     = "cache_v"     // [B, kv_heads, C, D]
	inKVExtra    = "extra"       // [B, kv_heads, E, D]
	outNextK     = "next_k"      // [B, kv_heads, C, D]: the cache with a decoded token written
	outNextV     = "next_v"      // [B, kv_heads, C, D]
)

// layer parameter inputs of the layer graphs, in call order, and the LayerNames field each
// binds.
var (
	qkvParams = []layerParam{
		{"input_norm", func(n LayerNames) string { return n.InputNorm }},
		{"q_proj", func(n LayerNames) string { return n.Q }},
		{"k_proj", func(n LayerNames) string { return n.K }},
		{"v_proj", func(n LayerNames) string { return n.V }},
		{"q_norm", func(n LayerNames) string { return n.QNorm }},
		{"k_norm", func(n LayerNames) string { return n.KNorm }},
	}
	outParams = []layerParam{
		{"o_proj", func(n LayerNames) string { return n.O }},
		{"post_norm", func(n LayerNames) string { return n.PostNorm }},
		{"gate_proj", func(n LayerNames) string { return n.Gate }},
		{"up_proj", func(n LayerNames) string { return n.Up }},
		{"down_proj", func(n LayerNames) string { return n.Down }},
	}
	headParams = []string{"final_norm", "head"}
)

type layerParam struct {
	input string
	name  func(LayerNames) string
}

// shapes of a layer's parameters by graph input name.
func (c Config) layerParamShape(input string) []int64 {
	H, I, D := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.HeadDim)
	q, kv := int64(c.NumAttentionHeads)*D, int64(c.NumKeyValueHeads)*D
	switch input {
	case "input_norm", "post_norm", "final_norm":
		return []int64{H}
	case "q_proj":
		return []int64{q, H}
	case "k_proj", "v_proj":
		return []int64{kv, H}
	case "o_proj":
		return []int64{H, q}
	case "q_norm", "k_norm":
		return []int64{D}
	case "gate_proj", "up_proj":
		return []int64{I, H}
	case "down_proj":
		return []int64{H, I}
	case "head":
		return []int64{int64(c.VocabSize), H}
	}
	panic("qwen3: unknown layer parameter " + input)
}

// Precision is the float types of the engine's graphs. DType is the type of their float
// inputs and outputs (parameters, hidden states, gradients) and of everything element-wise:
// norms, rotary embeddings, softmax, residuals. Compute, when set to another type
// (graph.BFloat16), is the type of the matrix products: their operands are cast to it, they
// accumulate as the provider does (fp32 on tensor cores) and their results are cast back, as
// PyTorch's autocast does; their VJPs multiply in Compute too. Emulate keeps the products in
// DType but rounds their operands and results through Compute: the numerics of Compute on a
// provider without its kernels (the CPU has none for bfloat16 products).
type Precision struct {
	DType   graph.DType
	Compute graph.DType
	Emulate bool
}

// float is the graphs' float type (Float32 when unset).
func (p Precision) float() graph.DType {
	if p.DType == 0 {
		return graph.Float32
	}
	return p.DType
}

// mixed reports whether matrix products use another type than the graphs' float type.
func (p Precision) mixed() bool { return p.Compute != 0 && p.Compute != p.float() }

// String names the precision as the flags do: fp32, fp64, bf16, fp16, with "-emulated" when
// rounded through the compute type.
func (p Precision) String() string {
	name := map[graph.DType]string{graph.Float32: "fp32", graph.Float64: "fp64", graph.BFloat16: "bf16", graph.Float16: "fp16"}
	if !p.mixed() {
		return name[p.float()]
	}
	if p.Emulate {
		return name[p.Compute] + "-emulated"
	}
	return name[p.Compute]
}

// layerBuilder emits one engine graph with parameters as named inputs.
type layerBuilder struct {
	cfg  Config
	g    *graph.Graph
	dt   graph.DType
	prec Precision
	w    map[string]*graph.Value
}

func newLayerBuilder(cfg Config, name string, p Precision) *layerBuilder {
	return &layerBuilder{cfg: cfg, g: graph.New(name), dt: p.float(), prec: p, w: map[string]*graph.Value{}}
}

// low returns a matrix product's operand in the compute type (rounded through it, back in the
// float type, when emulated).
func (b *layerBuilder) low(x *graph.Value) *graph.Value {
	if !b.prec.mixed() {
		return x
	}
	y := b.g.Cast(x, b.prec.Compute)
	if b.prec.Emulate {
		y = b.g.Cast(y, b.dt)
	}
	return y
}

// high returns a matrix product's result in the float type; emulated, it rounds the result
// as the compute type's kernel would store it.
func (b *layerBuilder) high(y *graph.Value) *graph.Value {
	if !b.prec.mixed() {
		return y
	}
	if b.prec.Emulate {
		y = b.g.Cast(y, b.prec.Compute)
	}
	return b.g.Cast(y, b.dt)
}

// matMul multiplies x and y in the compute type.
func (b *layerBuilder) matMul(x, y *graph.Value) *graph.Value {
	return b.high(b.g.MatMul(b.low(x), b.low(y)))
}

// gemm computes op(x) op(y) + c in the compute type, c (nil for none) added in the float
// type.
func (b *layerBuilder) gemm(x, y, c *graph.Value, transX, transY bool) *graph.Value {
	if !b.prec.mixed() {
		return b.g.Gemm(x, y, c, transX, transY)
	}
	z := b.high(b.g.Gemm(b.low(x), b.low(y), nil, transX, transY))
	if c != nil {
		z = b.g.Add(c, z)
	}
	return z
}

// layerParams declares the parameter inputs ps.
func (b *layerBuilder) layerParams(ps []layerParam) {
	for _, lp := range ps {
		b.params(lp.input)
	}
}

func (b *layerBuilder) params(names ...string) {
	for _, n := range names {
		shape := b.cfg.layerParamShape(n)
		dims := make([]graph.Dim, len(shape))
		for i, d := range shape {
			dims[i] = graph.D(d)
		}
		b.w[n] = b.g.Input(n, b.dt, dims...)
	}
}

func (b *layerBuilder) scalar(x float64) *graph.Value { return b.g.Scalar(b.dt, x) }

// linear computes x W^T for W stored [out, in].
func (b *layerBuilder) linear(x *graph.Value, w string) *graph.Value {
	return b.matMul(x, b.g.Transpose(b.w[w], 1, 0))
}

// rmsNorm computes x * rsqrt(mean(x^2, last axis) + eps) * w.
func (b *layerBuilder) rmsNorm(x *graph.Value, w string) *graph.Value {
	g := b.g
	ms := g.ReduceMean(g.Mul(x, x), []int64{-1}, true)
	inv := g.Reciprocal(g.Sqrt(g.Add(ms, b.scalar(b.cfg.RMSNormEps))))
	return g.Mul(g.Mul(x, inv), b.w[w])
}

// rope returns cos and sin [B, 1, T, D] for positions [B, T] (int64).
func (b *layerBuilder) rope(positions *graph.Value) (cos, sin *graph.Value) {
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

// applyRope computes x*cos + rotate_half(x)*sin on x [B, heads, T, D]; the halves come from
// Split, which every execution provider runs.
func (b *layerBuilder) applyRope(x, cos, sin *graph.Value) *graph.Value {
	g := b.g
	half := int64(b.cfg.HeadDim / 2)
	parts := g.Split(x, -1, half, half)
	rotated := g.Concat(-1, g.Neg(parts[1]), parts[0])
	return g.Add(g.Mul(x, cos), g.Mul(rotated, sin))
}

// heads reshapes [B, T, n*D] to [B, n, T, D] with a per-head RMSNorm when norm is not empty.
func (b *layerBuilder) heads(x *graph.Value, n int, norm string) *graph.Value {
	g := b.g
	x = g.Reshape(x, 0, 0, int64(n), int64(b.cfg.HeadDim)) // [B, T, n, D]
	if norm != "" {
		x = b.rmsNorm(x, norm)
	}
	return g.Transpose(x, 0, 2, 1, 3)
}

// BuildLayerQKV builds layer_qkv(x [B,T,H], positions [B,T], layer params) -> q [B,heads,T,D],
// k and v [B,kv_heads,T,D]: the input norm, the projections, the per-head norms and rotary
// embeddings of one decoder layer.
func BuildLayerQKV(cfg Config, p Precision) (*graph.Graph, error) {
	return buildLayerQKV(cfg, p, false)
}

// buildLayerQKV builds layer_qkv; with skip it has a fourth output, x itself, so that its VJP
// takes the gradient reaching x through the residual path (d_skip) and returns the total.
func buildLayerQKV(cfg Config, p Precision, skip bool) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphQKV, p)
	g := b.g
	x := g.Input(inX, dt, graph.Sym("batch"), graph.Sym("seq"), graph.D(int64(cfg.HiddenSize)))
	positions := g.Input(inPositions, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	b.layerParams(qkvParams)
	q, k, v := b.qkv(x, positions)
	g.Output(outQ, q)
	g.Output(outK, k)
	g.Output(outV, v)
	if skip {
		g.Output(outSkip, g.Identity(x))
	}
	return g, g.Err()
}

// BuildAttention builds attention(q [B,heads,Tq,D], k, v [B,kv_heads,S,D], key_mask [B,S],
// query_index [Tq]) -> attn [B,Tq,heads*D]: grouped-query attention of one block of queries
// against S keys. Query i sees key j when key_mask[b,j] is 1 and j <= query_index[i].
func BuildAttention(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphAttention, p)
	g := b.g
	nh, nkv, D := int64(cfg.NumAttentionHeads), int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	q := g.Input(outQ, dt, graph.Sym("batch"), graph.D(nh), graph.Sym("queries"), graph.D(D))
	k := g.Input(outK, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("keys"), graph.D(D))
	v := g.Input(outV, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("keys"), graph.D(D))
	keyMask := g.Input(inKeyMask, graph.Int64, graph.Sym("batch"), graph.Sym("keys"))
	queryIndex := g.Input(inQueryIndex, graph.Int64, graph.Sym("queries"))
	g.Output(outAttn, b.attend(q, k, v, keyMask, queryIndex, nil))
	return g, g.Err()
}

// BuildAttentionStep builds attention_step(q [B,heads,1,D], cache_k, cache_v [B,kv,C,D], k, v
// [B,kv,1,D], key_mask [B,C], slot) -> attn [B,1,heads*D], next_k and next_v [B,kv,C,D]: one decoded
// token's keys and values written at cache position slot (the rest of the cache copied), and
// its attention over the cache. The cache stays in the device's memory between steps.
func BuildAttentionStep(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphAttentionStep, p)
	g := b.g
	nh, nkv, D := int64(cfg.NumAttentionHeads), int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	q := g.Input(outQ, dt, graph.Sym("batch"), graph.D(nh), graph.D(1), graph.D(D))
	cacheK := g.Input(inCacheK, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	cacheV := g.Input(inCacheV, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	k := g.Input(outK, dt, graph.Sym("batch"), graph.D(nkv), graph.D(1), graph.D(D))
	v := g.Input(outV, dt, graph.Sym("batch"), graph.D(nkv), graph.D(1), graph.D(D))
	keyMask := g.Input(inKeyMask, graph.Int64, graph.Sym("batch"), graph.Sym("cache"))
	slot := g.Input(inSlot, graph.Int64)
	attn, nextK, nextV := b.attendStep(q, cacheK, cacheV, k, v, keyMask, slot, nil)
	g.Output(outAttn, attn)
	g.Output(outNextK, nextK)
	g.Output(outNextV, nextV)
	return g, g.Err()
}

// keyIndex returns 0..S-1 [S] for a key mask [B, S], made from its shape (a node that works
// on shapes, which ONNX Runtime may place on the CPU).
func (b *layerBuilder) keyIndex(keyMask *graph.Value) *graph.Value {
	g := b.g
	one := g.Scalar(graph.Int64, 1)
	return g.Range(g.Scalar(graph.Int64, 0), g.Gather(g.ShapeOf(keyMask), one, 0), one)
}

// attendStep writes one decoded token's k and v [B,kv,1,D] at position slot of the cache
// [B,kv,C,D] and attends q [B,heads,1,D] over it; keyIndex is 0..C-1 [C], made from keyMask's
// shape when nil. It returns the attention [B,1,heads*D] and the written cache.
func (b *layerBuilder) attendStep(q, cacheK, cacheV, k, v, keyMask, slot, keyIndex *graph.Value) (attn, nextK, nextV *graph.Value) {
	g := b.g
	if keyIndex == nil {
		keyIndex = b.keyIndex(keyMask)
	}
	at := g.Unsqueeze(g.Equal(keyIndex, slot), 0, 1, 3) // [1, 1, C, 1]
	nextK, nextV = g.Where(at, k, cacheK), g.Where(at, v, cacheV)
	return b.attend(q, nextK, nextV, keyMask, g.Unsqueeze(slot, 0), keyIndex), nextK, nextV
}

// BuildLayerStep builds layer_step(x [B,1,H], positions [B,1], cache_k, cache_v [B,kv,C,D],
// key_mask [B,C], key_index [C], slot, layer params) -> y [B,1,H], next_k, next_v: a whole
// decoder layer for one decoded token (layer_qkv, attention_step and layer_out in one call).
// key_index is 0..C-1, passed in so that no node works on shapes.
func BuildLayerStep(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphLayerStep, p)
	g := b.g
	nkv, D := int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	x := g.Input(inX, dt, graph.Sym("batch"), graph.D(1), graph.D(int64(cfg.HiddenSize)))
	positions := g.Input(inPositions, graph.Int64, graph.Sym("batch"), graph.D(1))
	cacheK := g.Input(inCacheK, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	cacheV := g.Input(inCacheV, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	keyMask := g.Input(inKeyMask, graph.Int64, graph.Sym("batch"), graph.Sym("cache"))
	keyIndex := g.Input(inKeyIndex, graph.Int64, graph.Sym("cache"))
	slot := g.Input(inSlot, graph.Int64)
	b.layerParams(wholeParams)
	q, k, v := b.qkv(x, positions)
	attn, nextK, nextV := b.attendStep(q, cacheK, cacheV, k, v, keyMask, slot, keyIndex)
	g.Output(outY, b.out(x, attn))
	g.Output(outNextK, nextK)
	g.Output(outNextV, nextV)
	return g, g.Err()
}

// BuildKVGrow builds kv_grow(cache_k [B,kv,C,D], extra [B,kv,E,D]) -> k [B,kv,C+E,D]: a cache
// grown along its positions.
func BuildKVGrow(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	g := graph.New(GraphKVGrow)
	nkv, D := int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	c := g.Input(inCacheK, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	e := g.Input(inKVExtra, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("extra"), graph.D(D))
	g.Output(outK, g.Concat(2, c, e))
	return g, g.Err()
}

// BuildKVRows builds kv_rows(cache_k [B,kv,C,D], rows [n]) -> k [n,kv,C,D]: the cache of the
// given rows (rows may repeat).
func BuildKVRows(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	g := graph.New(GraphKVRows)
	nkv, D := int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	c := g.Input(inCacheK, dt, graph.Sym("batch"), graph.D(nkv), graph.Sym("cache"), graph.D(D))
	rows := g.Input(inRows, graph.Int64, graph.Sym("rows"))
	g.Output(outK, g.Gather(c, rows, 0))
	return g, g.Err()
}

// attend is grouped-query attention of q [B,heads,Tq,D] against k, v [B,kv,S,D]: query i sees
// key j when keyMask[b,j] is 1 and j <= queryIndex[i]. keyIndex is 0..S-1 [S], made from
// keyMask's shape when nil. It returns [B,Tq,heads*D].
func (b *layerBuilder) attend(q, k, v, keyMask, queryIndex, keyIndex *graph.Value) *graph.Value {
	g := b.g
	cfg := b.cfg
	nh, nkv, D := int64(cfg.NumAttentionHeads), int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	// Additive mask [B, 1, 1, Tq, S]: finite, so a query with no visible key stays finite.
	if keyIndex == nil {
		keyIndex = b.keyIndex(keyMask)
	}
	visible := g.LessOrEqual(g.Unsqueeze(keyIndex, 0), g.Unsqueeze(queryIndex, 1))         // [Tq, S]
	allowed := g.And(g.Unsqueeze(g.Cast(keyMask, graph.Bool), 1), g.Unsqueeze(visible, 0)) // [B, Tq, S]
	bias := g.Unsqueeze(g.Where(allowed, b.scalar(0), b.scalar(maskedScore)), 1, 2)        // [B, 1, 1, Tq, S]

	// Query heads [B, kv, group, Tq, D] meet keys [B, kv, 1, S, D] by broadcasting: no copies
	// of keys per query head.
	q5 := g.Reshape(q, 0, nkv, nh/nkv, -1, D)
	k5 := g.Unsqueeze(k, 2)
	v5 := g.Unsqueeze(v, 2)
	scale := b.scalar(1 / math.Sqrt(float64(D)))
	scores := g.Add(g.Mul(b.matMul(q5, g.Transpose(k5, 0, 1, 2, 4, 3)), scale), bias) // [B, kv, group, Tq, S]
	attn := b.matMul(g.Softmax(scores, -1), v5)                                       // [B, kv, group, Tq, D]
	return g.Reshape(g.Transpose(g.Reshape(attn, 0, nh, -1, D), 0, 2, 1, 3), 0, 0, nh*D)
}

// BuildLayerOut builds layer_out(x [B,T,H], attn [B,T,heads*D], layer params) -> y [B,T,H]:
// the output projection and residual, the post-attention norm and the SiLU-gated MLP with its
// residual.
func BuildLayerOut(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphLayerOut, p)
	g := b.g
	H, q := int64(cfg.HiddenSize), int64(cfg.NumAttentionHeads*cfg.HeadDim)
	x := g.Input(inX, dt, graph.Sym("batch"), graph.Sym("seq"), graph.D(H))
	attn := g.Input(inAttn, dt, graph.Sym("batch"), graph.Sym("seq"), graph.D(q))
	b.layerParams(outParams)
	g.Output(outY, b.out(x, attn))
	return g, g.Err()
}

// qkv is the first part of a decoder layer: the input norm, the projections, the per-head
// norms and rotary embeddings of x [B,T,H] at positions [B,T].
func (b *layerBuilder) qkv(x, positions *graph.Value) (q, k, v *graph.Value) {
	cfg := b.cfg
	cos, sin := b.rope(positions)
	h := b.rmsNorm(x, "input_norm")
	q = b.applyRope(b.heads(b.linear(h, "q_proj"), cfg.NumAttentionHeads, "q_norm"), cos, sin)
	k = b.applyRope(b.heads(b.linear(h, "k_proj"), cfg.NumKeyValueHeads, "k_norm"), cos, sin)
	v = b.heads(b.linear(h, "v_proj"), cfg.NumKeyValueHeads, "")
	return q, k, v
}

// out is the rest of a decoder layer after attention: the output projection and residual,
// the post-attention norm and the SiLU-gated MLP with its residual.
func (b *layerBuilder) out(x, attn *graph.Value) *graph.Value {
	g := b.g
	x = g.Add(x, b.linear(attn, "o_proj"))
	h := b.rmsNorm(x, "post_norm")
	gate := b.linear(h, "gate_proj")
	act := g.Mul(g.Mul(gate, g.Sigmoid(gate)), b.linear(h, "up_proj"))
	return g.Add(x, b.linear(act, "down_proj"))
}

// BuildLayer builds layer(x [B,T,H], positions [B,T], key_mask [B,T], query_index [T], layer
// params) -> y [B,T,H]: a whole decoder layer in one graph (layer_qkv, attention and
// layer_out), for sequences whose attention fits one query block. query_index is 0..T-1 (the
// keys' indices as well); passed in, rather than made from shapes inside, so that every node
// can run on a GPU.
func BuildLayer(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphLayer, p)
	g := b.g
	x := g.Input(inX, dt, graph.Sym("batch"), graph.Sym("seq"), graph.D(int64(cfg.HiddenSize)))
	positions := g.Input(inPositions, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	keyMask := g.Input(inKeyMask, graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	index := g.Input(inQueryIndex, graph.Int64, graph.Sym("seq"))
	b.layerParams(wholeParams)
	q, k, v := b.qkv(x, positions)
	g.Output(outY, b.out(x, b.attend(q, k, v, keyMask, index, index)))
	return g, g.Err()
}

// wholeParams lists the parameter inputs of the whole-layer graphs: layer_qkv's, then
// layer_out's.
var wholeParams = append(slices.Clone(qkvParams), outParams...)

// BuildHead builds head(h [N,H], targets [N], temperature, final_norm, head [V,H]) ->
// logp [N], entropy [N]: the final norm, the LM head and the log-probability of each target
// and the entropy of the distribution of logits / temperature, for one chunk of N tokens, so
// that no [B, T, V] buffer exists. The target's log-probability is a Gather from the flattened
// log-softmax (GatherElements does not run on every execution provider).
func BuildHead(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphHead, p)
	g := b.g
	h := g.Input(inHidden, dt, graph.Sym("tokens"), graph.D(int64(cfg.HiddenSize)))
	targets := g.Input(inTargets, graph.Int64, graph.Sym("tokens"))
	temp := g.Input(Temperature, dt)
	b.params(headParams...)
	lsm, probs, _ := b.headLogSoftmax(h, temp) // [N, V]
	g.Output(LogpOut, g.Gather(g.Reshape(lsm, -1), b.flatTargets(h, targets), 0))
	g.Output(EntropyOut, g.Neg(g.ReduceSum(g.Mul(probs, lsm), []int64{-1}, false)))
	return g, g.Err()
}

// headLogSoftmax returns log_softmax and softmax of final_norm(h) W^T / temperature [N, V],
// and the scaled normed hidden states final_norm(h) / temperature [N, H] it multiplies W with.
// The probabilities come from Softmax rather than Exp of the log-softmax: ONNX Runtime's CPU
// Softmax is vectorised, its element-wise Exp several times slower over [N, V].
func (b *layerBuilder) headLogSoftmax(h, temp *graph.Value) (lsm, p, scaled *graph.Value) {
	g := b.g
	scaled = g.Div(b.rmsNorm(h, "final_norm"), temp)
	z := b.gemm(scaled, b.w["head"], nil, false, true)
	return g.LogSoftmax(z, -1), g.Softmax(z, -1), scaled
}

// flatTargets returns n*V + targets[n]: the targets' indices in the flattened [N, V] logits.
func (b *layerBuilder) flatTargets(h, targets *graph.Value) *graph.Value {
	g := b.g
	one := g.Scalar(graph.Int64, 1)
	rows := g.Range(g.Scalar(graph.Int64, 0), g.Gather(g.ShapeOf(h), g.Scalar(graph.Int64, 0), 0), one)
	return g.Add(g.Mul(rows, g.Scalar(graph.Int64, float64(b.cfg.VocabSize))), targets)
}

// BuildHeadVJP builds the VJP of head by hand: the same inputs plus d_logp [N], d_entropy [N]
// and d_head_acc [V,H], outputs d_h [N,H], d_final_norm [H] and d_head [V,H], the latter
// added to d_head_acc so that chunks accumulate the head's gradient where it lives. With z = logits / temperature,
// p = softmax(z) and entropy E = -sum p log p:
//
//	d logp_target / dz = onehot(target) - p
//	dE / dz            = -p (log p + E)
//
// so dz = onehot·d_logp - p·(d_logp + d_entropy·(log p + E)): a handful of passes over [N, V]
// instead of the dozen that generic differentiation of log-softmax and entropy emits. It is
// checked against graph.VJP of BuildHead and finite differences.
func BuildHeadVJP(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphHeadVJP, p)
	g := b.g
	H, V := int64(cfg.HiddenSize), int64(cfg.VocabSize)
	h := g.Input(inHidden, dt, graph.Sym("tokens"), graph.D(H))
	targets := g.Input(inTargets, graph.Int64, graph.Sym("tokens"))
	temp := g.Input(Temperature, dt)
	b.params(headParams...)
	dLogp := g.Unsqueeze(g.Input("d_"+LogpOut, dt, graph.Sym("tokens")), 1) // [N, 1]
	dEnt := g.Unsqueeze(g.Input("d_"+EntropyOut, dt, graph.Sym("tokens")), 1)
	acc := g.Input(inHeadAcc, dt, graph.D(V), graph.D(H))
	lsm, probs, scaled := b.headLogSoftmax(h, temp)                      // [N, V], [N, V], [N, H]
	entropy := g.Neg(g.ReduceSum(g.Mul(probs, lsm), []int64{-1}, true))  // [N, 1]
	inner := g.Add(g.Mul(lsm, dEnt), g.Add(dLogp, g.Mul(entropy, dEnt))) // [N, V]
	vocab := g.Range(g.Scalar(graph.Int64, 0), g.Scalar(graph.Int64, float64(V)), g.Scalar(graph.Int64, 1))
	onehot := g.Equal(g.Unsqueeze(targets, 1), g.Unsqueeze(vocab, 0))     // [N, V]
	dz := g.Sub(g.Where(onehot, dLogp, b.scalar(0)), g.Mul(probs, inner)) // [N, V]
	dNormed := g.Div(b.matMul(dz, b.w["head"]), temp)                     // [N, H]: d final_norm(h)
	// final_norm(h) = h * r * w with r = (mean(h^2) + eps)^(-1/2):
	// dw = sum_n h r dNormed; dh = r g - h r^3 mean(h g) with g = dNormed * w.
	r := g.Reciprocal(g.Sqrt(g.Add(g.ReduceMean(g.Mul(h, h), []int64{-1}, true), b.scalar(cfg.RMSNormEps))))
	gw := g.Mul(dNormed, b.w["final_norm"])
	r3 := g.Mul(g.Mul(r, r), r)
	dh := g.Sub(g.Mul(gw, r), g.Mul(h, g.Mul(r3, g.ReduceMean(g.Mul(h, gw), []int64{-1}, true))))
	g.Output("d_"+inHidden, dh)
	g.Output("d_final_norm", g.ReduceSum(g.Mul(g.Mul(h, r), dNormed), []int64{0}, false))
	g.Output("d_head", b.gemm(dz, scaled, acc, true, false)) // [V, H]: d_head_acc + this chunk's
	return g, g.Err()
}

// BuildLogits builds logits(h [N,H], final_norm, head [V,H]) -> logits [N,V] for generation.
func BuildLogits(cfg Config, p Precision) (*graph.Graph, error) {
	dt := p.float()
	b := newLayerBuilder(cfg, GraphLogits, p)
	g := b.g
	h := g.Input(inHidden, dt, graph.Sym("tokens"), graph.D(int64(cfg.HiddenSize)))
	b.params(headParams...)
	g.Output(LogitsOut, b.gemm(b.rmsNorm(h, "final_norm"), b.w["head"], nil, false, true))
	return g, g.Err()
}

// BuildEngineGraph builds one of the engine's graphs by name (EngineGraphs).
func BuildEngineGraph(cfg Config, name string, p Precision) (*graph.Graph, error) {
	fwd := map[string]func(Config, Precision) (*graph.Graph, error){
		GraphQKV: BuildLayerQKV, GraphAttention: BuildAttention, GraphLayerOut: BuildLayerOut, GraphHead: BuildHead,
		GraphLogits: BuildLogits, GraphAttentionStep: BuildAttentionStep, GraphKVGrow: BuildKVGrow, GraphKVRows: BuildKVRows,
		GraphLayer: BuildLayer, GraphLayerStep: BuildLayerStep,
	}
	if build, ok := fwd[name]; ok {
		return build(cfg, p)
	}
	// A layer VJP graph's accumulating variant (<name>_acc) adds its parameter gradients to
	// accumulator inputs, one per parameter after the cotangents: gradients of micro-batches
	// add up where they are computed.
	base, acc := strings.CutSuffix(name, accSuffix)
	var params []layerParam
	var fwdName string
	var wrt []string
	skip := false
	switch base {
	case GraphQKVVJP:
		fwdName, wrt, params, skip = GraphQKV, []string{inX}, qkvParams, true
	case GraphLayerVJP:
		fwdName, wrt, params = GraphLayer, []string{inX}, wholeParams
	case GraphAttentionVJP:
		fwdName, wrt = GraphAttention, []string{outQ, outK, outV}
	case GraphLayerOutVJP:
		fwdName, wrt, params = GraphLayerOut, []string{inX, inAttn}, outParams
	case GraphHeadVJP:
		if !acc {
			return BuildHeadVJP(cfg, p)
		}
	}
	if fwdName == "" || acc && params == nil {
		return nil, fmt.Errorf("unknown engine graph %q", name)
	}
	opts := graph.VJPOptions{Name: name}
	for _, q := range params {
		wrt = append(wrt, q.input)
		if acc {
			opts.Accumulate = append(opts.Accumulate, q.input)
		}
	}
	var f *graph.Graph
	var err error
	if skip {
		f, err = buildLayerQKV(cfg, p, true)
	} else {
		f, err = fwd[fwdName](cfg, p)
	}
	if err != nil {
		return nil, err
	}
	return graph.VJP(f, wrt, opts)
}

// accSuffix names the accumulating variant of a layer VJP graph (BuildEngineGraph).
const accSuffix = "_acc"

// Graph input and output names shared with callers.
const (
	InputIDs    = "input_ids"   // int64 [B, T]
	Temperature = "temperature" // scalar: scores are of logits / temperature
	LogpOut     = "logp"        // [N]: log-probability of each target
	EntropyOut  = "entropy"     // [N]: entropy of each next-token distribution
	LogitsOut   = "logits"      // [N, V]
)

// maskedScore is added to attention scores of masked keys: large enough to zero their weight,
// finite so that a row with no visible key (a pad query) stays finite.
const maskedScore = -1e9
