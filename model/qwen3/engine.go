package qwen3

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"ltecli/model/graph"
	"ltecli/ort"
	"ltecli/weights"
)

// The layer loop. Go runs the decoder one layer at a time through the shared layer graphs,
// keeping only the hidden states at layer boundaries (activation checkpointing): the backward
// pass recomputes each layer's q, k, v and attention from its input before running the
// layer's VJP graphs. Attention runs in blocks of queries and the head in chunks of tokens, so
// the largest buffers are [heads, block, S] and [chunk, V], and memory grows linearly with the
// sequence length.
//
// Everything runs on ort.Values of the model's device: on a GPU the parameters, the hidden
// states between layers, the parameter gradients and the KV cache stay in device memory, and
// only what Go needs crosses (token ids, cotangents, log-probabilities, logits of the last
// position, the gradient once per call). On the CPU the same code runs with Values that share
// Go memory, so nothing is copied. Row gathers and the query blocks of long sequences are
// done by Go on host copies (no copies on the CPU).

// Working-set budgets, in elements of the float type.
const (
	// attentionBudget bounds one query block's scores: heads x block x keys.
	attentionBudget = 1 << 24
	// headBudget bounds one head chunk's logits: tokens x vocabulary.
	headBudget = 1 << 25
)

// budget scales a working-set budget to the device: a GPU's memory holds 8 times more, and
// fewer, larger calls keep it busy.
func (m *Model) budget(n int) int {
	if m.dev != nil && m.dev.Provider() != ort.CPU {
		return 8 * n
	}
	return n
}

// queryBlock returns the number of queries per attention block for S keys.
func (m *Model) queryBlock(T, S int) int {
	if m.opts.QueryBlock > 0 {
		return min(T, m.opts.QueryBlock)
	}
	return max(1, min(T, m.budget(attentionBudget)/(m.Config.NumAttentionHeads*max(S, 1))))
}

// headChunk returns the number of tokens per head chunk.
func (m *Model) headChunk() int {
	if m.opts.HeadChunk > 0 {
		return m.opts.HeadChunk
	}
	return max(1, m.budget(headBudget)/m.Config.VocabSize)
}

// Profile accumulates the wall time and calls of each engine graph (Options.Profile).
type Profile struct {
	mu    sync.Mutex
	Time  map[string]time.Duration
	Calls map[string]int
}

func (p *Profile) add(name string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Time == nil {
		p.Time, p.Calls = map[string]time.Duration{}, map[string]int{}
	}
	p.Time[name] += d
	p.Calls[name]++
}

// String lists the graphs by time spent, with their share of the total.
func (p *Profile) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var total time.Duration
	names := make([]string, 0, len(p.Time))
	for n, d := range p.Time {
		names = append(names, n)
		total += d
	}
	sort.Slice(names, func(i, j int) bool { return p.Time[names[i]] > p.Time[names[j]] })
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%-14s %5d calls %9.3fs %5.1f%%\n", n, p.Calls[n], p.Time[n].Seconds(), 100*p.Time[n].Seconds()/total.Seconds())
	}
	return b.String()
}

// scope collects the Values made during one call, closed together at its end.
type scope []*ort.Value

func (s *scope) add(vs ...*ort.Value) {
	*s = append(*s, vs...)
}

// drop removes vs from the scope without closing them (their owner changes).
func (s *scope) drop(vs ...*ort.Value) {
	*s = slices.DeleteFunc(*s, func(v *ort.Value) bool { return slices.Contains(vs, v) })
}

func (s *scope) close() {
	for _, v := range *s {
		v.Close()
	}
	*s = nil
}

// run runs one engine graph on Values. New outputs (nil slots) are added to sc.
func (m *Model) run(sc *scope, name string, in, out []*ort.Value) ([]*ort.Value, error) {
	s, err := m.session(name)
	if err != nil {
		return nil, err
	}
	if p := m.opts.Profile; p != nil {
		defer func(start time.Time) { p.add(name, time.Since(start)) }(time.Now())
	}
	got, err := s.RunValues(in, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, v := range got {
		if out == nil || out[i] == nil {
			sc.add(v)
		}
	}
	return got, nil
}

// upload puts a host tensor on the model's device (no copy on the CPU) and adds it to sc.
func (m *Model) upload(sc *scope, t *ort.Tensor) (*ort.Value, error) {
	v, err := m.dev.Upload(t)
	if err != nil {
		return nil, err
	}
	sc.add(v)
	return v, nil
}

// uploadAll uploads several tensors.
func (m *Model) uploadAll(sc *scope, ts ...*ort.Tensor) ([]*ort.Value, error) {
	out := make([]*ort.Value, len(ts))
	for i, t := range ts {
		v, err := m.upload(sc, t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// host returns v's contents on the host: the Value's own memory on the CPU, a copy from a GPU.
// The caller must not write to it.
func host(v *ort.Value) (*ort.Tensor, error) {
	if t := v.Host(); t != nil {
		return t, nil
	}
	t := ort.Zeros(v.DType(), v.Shape()...)
	if err := v.CopyTo(t); err != nil {
		return nil, err
	}
	return t, nil
}

// deviceStore is a weights.Store resident on the device: one flat Value of the graphs' float
// type and a view per tensor.
type deviceStore struct {
	flat  *ort.Value
	views map[string]*ort.Value
	gen   uint64
	fresh bool // the Values share the store's memory (float32 on the CPU): always current
}

func (d *deviceStore) close() {
	for _, v := range d.views {
		v.Close()
	}
	d.flat.Close()
}

// newDeviceStore allocates a device copy of s's layout (contents unset).
func (m *Model) newDeviceStore(s *weights.Store, share bool) (*deviceStore, error) {
	d := &deviceStore{views: map[string]*ort.Value{}}
	var err error
	if share {
		d.flat, err = m.dev.Upload(ort.F32Tensor(s.Data, int64(len(s.Data))))
		d.fresh = true
	} else {
		d.flat, err = m.dev.Alloc(m.floatType(), int64(len(s.Data)))
	}
	if err != nil {
		return nil, err
	}
	for _, v := range s.Views {
		view, err := d.flat.View(v.Offset, v.Shape...)
		if err != nil {
			d.close()
			return nil, err
		}
		d.views[v.Name] = view
	}
	return d, nil
}

func (m *Model) floatType() ort.DType {
	if m.opts.DType == graph.Float64 {
		return ort.Float64
	}
	return ort.Float32
}

// shares reports whether device Values can share the host stores' memory.
func (m *Model) shares() bool {
	return m.dev.Provider() == ort.CPU && m.opts.DType == graph.Float32 && !m.opts.SeparateMemory
}

// params returns the model's parameters on the device, uploading them when the store changed
// since the last upload (weights.Store.Touch) and always for float64 graphs.
func (m *Model) params() (*deviceStore, error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.params[m.Params]
	if d == nil {
		var err error
		if d, err = m.newDeviceStore(m.Params, m.shares()); err != nil {
			return nil, fmt.Errorf("parameters on %s: %w", m.dev.Provider(), err)
		}
		d.gen = m.Params.Generation() - 1
		c.params[m.Params] = d
	}
	if !d.fresh && (d.gen != m.Params.Generation() || m.opts.DType == graph.Float64) {
		if err := d.flat.CopyFrom(floatsOf(m.opts.DType, m.Params.Data, int64(len(m.Params.Data)))); err != nil {
			return nil, fmt.Errorf("uploading parameters: %w", err)
		}
		d.gen = m.Params.Generation()
	}
	return d, nil
}

// gradients returns the device store that receives parameter gradients for host store g.
func (m *Model) gradients(g *weights.Store) (*deviceStore, error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	key := g
	if !m.shares() {
		key = nil // one device buffer serves every host store
	}
	d := c.grads[key]
	if d == nil {
		var err error
		if d, err = m.newDeviceStore(g, m.shares()); err != nil {
			return nil, fmt.Errorf("gradients on %s: %w", m.dev.Provider(), err)
		}
		c.grads[key] = d
	}
	return d, nil
}

// headScratch returns two [V, H] device buffers for the head's gradient: a scratch that chunks
// alternate with, and zeros that the first chunk adds to (never written).
func (m *Model) headScratch() (scratch, zeros *ort.Value, err error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.headScratch == nil {
		V, H := int64(m.Config.VocabSize), int64(m.Config.HiddenSize)
		if c.headScratch, err = m.dev.Alloc(m.floatType(), V, H); err != nil {
			return nil, nil, err
		}
		if c.headZeros, err = m.dev.Zeros(m.floatType(), V, H); err != nil {
			return nil, nil, err
		}
	}
	return c.headScratch, c.headZeros, nil
}

func (d *deviceStore) layer(l int, ps []layerParam) []*ort.Value {
	names := Layer(l)
	out := make([]*ort.Value, len(ps))
	for i, p := range ps {
		out[i] = d.views[p.name(names)]
	}
	return out
}

func (m *Model) headWeight() string {
	if m.Config.TieWordEmbeddings {
		return EmbedName
	}
	return LMHeadName
}

// embed looks up the embeddings of ids: [len(ids), H] rows in the engine's float type.
func (m *Model) embed(ids []int64, shape ...int64) (*ort.Tensor, error) {
	H := m.Config.HiddenSize
	table := m.Params.Tensor(EmbedName)
	x := newFloat(m.opts.DType, shape...)
	for i, id := range ids {
		if id < 0 || int(id) >= m.Config.VocabSize {
			return nil, fmt.Errorf("token id %d outside the vocabulary of %d", id, m.Config.VocabSize)
		}
		row := table[int(id)*H : (int(id)+1)*H]
		if x.DType == ort.Float64 {
			for j, v := range row {
				x.F64[i*H+j] = float64(v)
			}
		} else {
			copy(x.F32[i*H:(i+1)*H], row)
		}
	}
	return x, nil
}

// positionsOf returns cumsum(mask) - 1 per row of a [B, T] mask: positions count real tokens.
func positionsOf(mask []int64, B, T int) []int64 {
	pos := make([]int64, B*T)
	for b := 0; b < B; b++ {
		var c int64
		for t := 0; t < T; t++ {
			c += mask[b*T+t]
			pos[b*T+t] = c - 1
		}
	}
	return pos
}

// layerQKV runs layer_qkv for layer l on x [B, T, H].
func (m *Model) layerQKV(sc *scope, p *deviceStore, l int, x, positions *ort.Value) (q, k, v *ort.Value, err error) {
	got, err := m.run(sc, GraphQKV, append([]*ort.Value{x, positions}, p.layer(l, qkvParams)...), nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("layer %d: %w", l, err)
	}
	return got[0], got[1], got[2], nil
}

// layerOut runs layer_out for layer l.
func (m *Model) layerOut(sc *scope, p *deviceStore, l int, x, attn *ort.Value) (*ort.Value, error) {
	got, err := m.run(sc, GraphLayerOut, append([]*ort.Value{x, attn}, p.layer(l, outParams)...), nil)
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	return got[0], nil
}

// attention runs causal attention of q [B, heads, T, D] against k, v [B, kv, T, D] with key
// mask [B, T]: query t sees keys j <= t. Long sequences run in query blocks, each against the
// keys up to its last query. It returns [B, T, heads*D].
func (m *Model) attention(sc *scope, q, k, v *ort.Value, keyMask []int64) (*ort.Value, error) {
	B, T := int(q.Shape()[0]), int(q.Shape()[2])
	block := m.queryBlock(T, T)
	if block >= T {
		small, err := m.uploadAll(sc, ort.I64Tensor(keyMask, int64(B), int64(T)), queryIndex(0, T))
		if err != nil {
			return nil, err
		}
		got, err := m.run(sc, GraphAttention, []*ort.Value{q, k, v, small[0], small[1]}, nil)
		if err != nil {
			return nil, err
		}
		return got[0], nil
	}
	width := m.Config.NumAttentionHeads * m.Config.HeadDim
	hq, hk, hv, err := hosts(q, k, v)
	if err != nil {
		return nil, err
	}
	out := newFloat(m.opts.DType, int64(B), int64(T), int64(width))
	for from := 0; from < T; from += block {
		to := min(T, from+block)
		bs := &scope{}
		in, err := m.uploadAll(bs, sliceAxis2(hq, from, to), sliceAxis2(hk, 0, to), sliceAxis2(hv, 0, to),
			ort.I64Tensor(prefixColumns(keyMask, B, T, to), int64(B), int64(to)), queryIndex(from, to-from))
		if err == nil {
			var got []*ort.Value
			if got, err = m.run(bs, GraphAttention, in, nil); err == nil {
				var part *ort.Tensor
				if part, err = host(got[0]); err == nil {
					copyBlock(out, from*width, T*width, part, 0, (to-from)*width, (to-from)*width, B)
				}
			}
		}
		bs.close()
		if err != nil {
			return nil, err
		}
	}
	return m.upload(sc, out)
}

// attentionVJP is the backward of attention: given dAttn [B, T, heads*D] it returns dq
// [B, heads, T, D] and dk, dv [B, kv, T, D], processing the same query blocks.
func (m *Model) attentionVJP(sc *scope, q, k, v *ort.Value, keyMask []int64, dAttn *ort.Value) (dq, dk, dv *ort.Value, err error) {
	B, T := int(q.Shape()[0]), int(q.Shape()[2])
	block := m.queryBlock(T, T)
	if block >= T {
		small, err := m.uploadAll(sc, ort.I64Tensor(keyMask, int64(B), int64(T)), queryIndex(0, T))
		if err != nil {
			return nil, nil, nil, err
		}
		got, err := m.run(sc, GraphAttentionVJP, []*ort.Value{q, k, v, small[0], small[1], dAttn}, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		return got[0], got[1], got[2], nil
	}
	width := m.Config.NumAttentionHeads * m.Config.HeadDim
	hq, hk, hv, err := hosts(q, k, v)
	if err != nil {
		return nil, nil, nil, err
	}
	hd, err := host(dAttn)
	if err != nil {
		return nil, nil, nil, err
	}
	gq, gk, gv := newFloat(m.opts.DType, q.Shape()...), newFloat(m.opts.DType, k.Shape()...), newFloat(m.opts.DType, v.Shape()...)
	for from := 0; from < T; from += block {
		to := min(T, from+block)
		dBlock := newFloat(m.opts.DType, int64(B), int64(to-from), int64(width))
		copyBlock(dBlock, 0, (to-from)*width, hd, from*width, T*width, (to-from)*width, B)
		bs := &scope{}
		in, err := m.uploadAll(bs, sliceAxis2(hq, from, to), sliceAxis2(hk, 0, to), sliceAxis2(hv, 0, to),
			ort.I64Tensor(prefixColumns(keyMask, B, T, to), int64(B), int64(to)), queryIndex(from, to-from), dBlock)
		if err == nil {
			var got []*ort.Value
			if got, err = m.run(bs, GraphAttentionVJP, in, nil); err == nil {
				var parts [3]*ort.Tensor
				for i := range parts {
					if parts[i], err = host(got[i]); err != nil {
						break
					}
				}
				if err == nil {
					putAxis2(gq, from, parts[0], false)
					putAxis2(gk, 0, parts[1], true)
					putAxis2(gv, 0, parts[2], true)
				}
			}
		}
		bs.close()
		if err != nil {
			return nil, nil, nil, err
		}
	}
	out, err := m.uploadAll(sc, gq, gk, gv)
	if err != nil {
		return nil, nil, nil, err
	}
	return out[0], out[1], out[2], nil
}

func hosts(q, k, v *ort.Value) (hq, hk, hv *ort.Tensor, err error) {
	if hq, err = host(q); err != nil {
		return
	}
	if hk, err = host(k); err != nil {
		return
	}
	hv, err = host(v)
	return
}

// queryIndex returns from, from+1, ..., from+n-1 as an int64 tensor [n].
func queryIndex(from, n int) *ort.Tensor {
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = int64(from + i)
	}
	return ort.I64Tensor(idx, int64(n))
}

// prefixColumns returns the first n columns of a [B, S] row-major matrix.
func prefixColumns(x []int64, B, S, n int) []int64 {
	if n == S {
		return x
	}
	out := make([]int64, B*n)
	for b := 0; b < B; b++ {
		copy(out[b*n:(b+1)*n], x[b*S:b*S+n])
	}
	return out
}

// batchInputs are the per-batch inputs every layer call takes, uploaded once per call.
type batchInputs struct {
	positions *ort.Value // int64 [B, T]
	keyMask   *ort.Value // int64 [B, T]; nil when layers run split
	index     *ort.Value // int64 [T]: 0..T-1; nil when layers run split
	mask      []int64    // the host key mask
	whole     bool       // layers run as one graph each (layer, layer_vjp)
}

// wholeLayers reports whether a [B, T] batch runs each layer as one graph: its attention fits
// one query block and the batch's scores B x heads x T x T fit the attention budget (the whole
// layer's VJP holds them beside the MLP's activations).
func (m *Model) wholeLayers(B, T int) bool {
	return !m.opts.SplitLayers && m.queryBlock(T, T) >= T &&
		B*m.Config.NumAttentionHeads*T*T <= m.budget(attentionBudget)
}

// batchInputs uploads the per-batch layer inputs of b.
func (m *Model) batchInputs(sc *scope, b Batch) (*batchInputs, error) {
	in := &batchInputs{mask: b.Mask, whole: m.wholeLayers(b.B, b.T)}
	B, T := int64(b.B), int64(b.T)
	ts := []*ort.Tensor{ort.I64Tensor(positionsOf(b.Mask, b.B, b.T), B, T)}
	if in.whole {
		ts = append(ts, ort.I64Tensor(b.Mask, B, T), queryIndex(0, b.T))
	}
	vs, err := m.uploadAll(sc, ts...)
	if err != nil {
		return nil, err
	}
	in.positions = vs[0]
	if in.whole {
		in.keyMask, in.index = vs[1], vs[2]
	}
	return in, nil
}

// wholeInputs returns the inputs of layer l's whole-layer graph (layer, and layer_vjp before
// its cotangent) for x.
func (bi *batchInputs) wholeInputs(p *deviceStore, l int, x *ort.Value) []*ort.Value {
	return append([]*ort.Value{x, bi.positions, bi.keyMask, bi.index}, p.layer(l, wholeParams)...)
}

// layer runs decoder layer l on x [B, T, H]; the output is added to sc.
func (m *Model) layer(sc *scope, p *deviceStore, l int, x *ort.Value, bi *batchInputs) (*ort.Value, error) {
	if bi.whole {
		got, err := m.run(sc, GraphLayer, bi.wholeInputs(p, l, x), nil)
		if err != nil {
			return nil, err
		}
		return got[0], nil
	}
	ls := &scope{}
	defer ls.close()
	_, _, _, attn, err := m.splitAttention(ls, p, l, x, bi)
	if err != nil {
		return nil, err
	}
	return m.layerOut(sc, p, l, x, attn)
}

// splitAttention runs layer_qkv and attention of split layer l on x; the values are in sc.
func (m *Model) splitAttention(sc *scope, p *deviceStore, l int, x *ort.Value, bi *batchInputs) (q, k, v, attn *ort.Value, err error) {
	if q, k, v, err = m.layerQKV(sc, p, l, x, bi.positions); err != nil {
		return nil, nil, nil, nil, err
	}
	if attn, err = m.attention(sc, q, k, v, bi.mask); err != nil {
		return nil, nil, nil, nil, err
	}
	return q, k, v, attn, nil
}

// forward runs the decoder layers on a right-padded batch and returns the hidden state
// entering every layer and the last layer's output: len(Layers)+1 Values [B, T, H] in sc.
func (m *Model) forward(sc *scope, p *deviceStore, b Batch, bi *batchInputs) ([]*ort.Value, error) {
	B, T, H := int64(b.B), int64(b.T), int64(m.Config.HiddenSize)
	x0, err := m.embed(b.IDs, B, T, H)
	if err != nil {
		return nil, err
	}
	x, err := m.upload(sc, x0)
	if err != nil {
		return nil, err
	}
	states := []*ort.Value{x}
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		if x, err = m.layer(sc, p, l, x, bi); err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		states = append(states, x)
	}
	return states, nil
}

// scored lists the positions of a right-padded batch whose next token is real, as flat
// indices b*T + t (position t predicts token t+1).
func scored(b Batch) []int {
	var idx []int
	for r := 0; r < b.B; r++ {
		for t := 0; t+1 < b.T; t++ {
			if b.Mask[r*b.T+t+1] != 0 {
				idx = append(idx, r*b.T+t)
			}
		}
	}
	return idx
}

// gatherRows copies rows idx of x [*, H] into a new [len(idx), H] tensor.
func gatherRows(x *ort.Tensor, idx []int, H int) *ort.Tensor {
	out := newFloat(graphType(x), int64(len(idx)), int64(H))
	for j, i := range idx {
		copyBlock(out, j*H, 0, x, i*H, 0, H, 1)
	}
	return out
}

func graphType(t *ort.Tensor) graph.DType {
	if t.DType == ort.Float64 {
		return graph.Float64
	}
	return graph.Float32
}

// headInputs uploads the rows part of h (host) and their next tokens.
func (m *Model) headInputs(sc *scope, b Batch, h *ort.Tensor, part []int, temperature float64) ([]*ort.Value, error) {
	targets := make([]int64, len(part))
	for j, i := range part {
		targets[j] = b.IDs[i+1]
	}
	return m.uploadAll(sc, gatherRows(h, part, m.Config.HiddenSize), ort.I64Tensor(targets, int64(len(part))), m.scalar(temperature))
}

// score runs the layer loop and the head: log-probabilities and entropies of logits /
// temperature at every position whose next token is real (0 elsewhere).
func (m *Model) score(b Batch, temperature float64) (ScoreOutput, error) {
	sc := &scope{}
	defer sc.close()
	p, err := m.params()
	if err != nil {
		return ScoreOutput{}, err
	}
	bi, err := m.batchInputs(sc, b)
	if err != nil {
		return ScoreOutput{}, err
	}
	states, err := m.forward(sc, p, b, bi)
	if err != nil {
		return ScoreOutput{}, err
	}
	h, err := host(states[len(states)-1])
	if err != nil {
		return ScoreOutput{}, err
	}
	out := ScoreOutput{Logp: make([]float32, b.B*(b.T-1)), Entropy: make([]float32, b.B*(b.T-1)), B: b.B, T: b.T}
	idx := scored(b)
	chunk := m.headChunk()
	for from := 0; from < len(idx); from += chunk {
		part := idx[from:min(len(idx), from+chunk)]
		cs := &scope{}
		in, err := m.headInputs(cs, b, h, part, temperature)
		if err == nil {
			var got []*ort.Value
			if got, err = m.run(cs, GraphHead, append(in, p.views[FinalNormName], p.views[m.headWeight()]), nil); err == nil {
				var logp, ent *ort.Tensor
				if logp, err = host(got[0]); err == nil {
					if ent, err = host(got[1]); err == nil {
						lp, en := toF32(logp), toF32(ent)
						for j, i := range part {
							r, t := i/b.T, i%b.T
							out.Logp[r*(b.T-1)+t] = lp[j]
							out.Entropy[r*(b.T-1)+t] = en[j]
						}
					}
				}
			}
		}
		cs.close()
		if err != nil {
			return ScoreOutput{}, err
		}
	}
	return out, nil
}

// spareGradients returns a second gradient buffer of grads' layout, for micro-batches to
// alternate with the one of gradients(grads): device memory off the CPU, a host store on it.
func (m *Model) spareGradients(grads *weights.Store) (*deviceStore, error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gradSpare == nil {
		store := grads
		if m.shares() {
			store = grads.ZerosLike()
		}
		d, err := m.newDeviceStore(store, m.shares())
		if err != nil {
			return nil, fmt.Errorf("gradients on %s: %w", m.dev.Provider(), err)
		}
		c.gradSpare = d
	}
	return c.gradSpare, nil
}

// scoreVJPSum runs the backward pass of every micro-batch: the gradient of the sum over k of
// sum(dLogp[k]*logp + dEnt[k]*entropy) on bs[k], with respect to every parameter, written into
// grads. Layer and head gradients add up on the device: micro-batch k's VJP graphs add to
// micro-batch k-1's sum (their _acc variants), alternating between two buffers so that the
// last writes the one of grads, which comes back to the host once. The final norm's and the
// embedding's gradients are summed on the host.
func (m *Model) scoreVJPSum(bs []Batch, temperature float64, dLogp, dEnt [][]float32, grads *weights.Store) error {
	dg, err := m.gradients(grads)
	if err != nil {
		return err
	}
	spare := dg
	if len(bs) > 1 {
		if spare, err = m.spareGradients(grads); err != nil {
			return err
		}
	}
	H := m.Config.HiddenSize
	dNorm := make([]float32, H)
	earlier := map[int64][]float32{} // embedding gradient rows of micro-batches before the last, by token
	var prev *deviceStore
	var last []float32 // the last micro-batch's input gradient [B*T*H]
	for k, b := range bs {
		cur := dg
		if (len(bs)-1-k)%2 == 1 {
			cur = spare
		}
		dx, err := m.backward(b, temperature, dLogp[k], dEnt[k], cur, prev, dNorm)
		if err != nil {
			return err
		}
		if k == len(bs)-1 {
			last = dx
		} else {
			addTokenRows(b, dx, H, func(id int64) []float32 {
				if earlier[id] == nil {
					earlier[id] = make([]float32, H)
				}
				return earlier[id]
			})
		}
		prev = cur
	}
	// The device gradients (every layer's parameters and the head's weight) come back once.
	if !dg.fresh {
		// Straight into the host store for float32 (no staging buffer: on a GPU the gradient
		// is the size of the model).
		flat := ort.F32Tensor(grads.Data, int64(len(grads.Data)))
		if m.opts.DType != graph.Float32 {
			flat = ort.Zeros(m.floatType(), int64(len(grads.Data)))
		}
		if err := dg.flat.CopyTo(flat); err != nil {
			return fmt.Errorf("downloading gradients: %w", err)
		}
		if flat.DType != ort.Float32 {
			copy(grads.Data, toF32(flat))
		}
	}
	copy(grads.Tensor(FinalNormName), dNorm)
	// Embedding rows: the earlier micro-batches' sums per token, then the last micro-batch's
	// rows in position order, so that the result does not depend on threads.
	dE := grads.Tensor(EmbedName)
	if !m.Config.TieWordEmbeddings {
		clear(dE)
	}
	ids := slices.Sorted(maps.Keys(earlier))
	for _, id := range ids {
		row := dE[int(id)*H : (int(id)+1)*H]
		for j, v := range earlier[id] {
			row[j] += v
		}
	}
	addTokenRows(bs[len(bs)-1], last, H, func(id int64) []float32 { return dE[int(id)*H : (int(id)+1)*H] })
	return nil
}

// addTokenRows adds the input gradient rows dx [B*T*H] of b's real tokens, in position
// order, to row(token id).
func addTokenRows(b Batch, dx []float32, H int, row func(id int64) []float32) {
	for i, id := range b.IDs {
		if b.Mask[i] == 0 {
			continue
		}
		r := row(id)
		for j, v := range dx[i*H : (i+1)*H] {
			r[j] += v
		}
	}
}

// backward runs one micro-batch's backward pass. The layers' and the head's parameter
// gradients go into their views of cur, added to prev's (nil: the first micro-batch); the
// final norm's is added to dNorm. It returns the gradient of the embedded input [B*T*H].
func (m *Model) backward(b Batch, temperature float64, dLogp, dEnt []float32, cur, prev *deviceStore, dNorm []float32) ([]float32, error) {
	sc := &scope{}
	defer sc.close()
	p, err := m.params()
	if err != nil {
		return nil, err
	}
	B, T, H := b.B, b.T, m.Config.HiddenSize
	bi, err := m.batchInputs(sc, b)
	if err != nil {
		return nil, err
	}
	states, err := m.forward(sc, p, b, bi)
	if err != nil {
		return nil, err
	}
	dh := newFloat(m.opts.DType, int64(B), int64(T), int64(H))
	if err := m.headVJP(b, p, cur, prev, states[len(states)-1], temperature, dLogp, dEnt, dh, dNorm); err != nil {
		return nil, err
	}
	dx, err := m.upload(sc, dh)
	if err != nil {
		return nil, err
	}
	for l := m.Config.NumHiddenLayers - 1; l >= 0; l-- {
		if dx, err = m.layerVJP(sc, p, cur, prev, l, states[l], bi, dx); err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
	}
	dx0, err := host(dx)
	if err != nil {
		return nil, err
	}
	return toF32(dx0), nil
}

// headVJP runs head_vjp over the chunks of positions with a nonzero cotangent. It adds the
// hidden-state gradients into dh [B, T, H] (host) and the final norm's into dNorm, and leaves
// the head weight's gradient, added to prev's (nil: to zeros), in its view of cur (chunks
// alternate between that view and a scratch buffer, each adding to the other, so that the
// last writes the view).
func (m *Model) headVJP(b Batch, p, cur, prev *deviceStore, h *ort.Value, temperature float64, dLogp, dEnt []float32, dh *ort.Tensor, dNorm []float32) error {
	var idx []int
	for _, i := range scored(b) {
		r, t := i/b.T, i%b.T
		if k := r*(b.T-1) + t; dLogp[k] != 0 || dEnt[k] != 0 {
			idx = append(idx, i)
		}
	}
	target := cur.views[m.headWeight()]
	scratch, zeros, err := m.headScratch()
	if err != nil {
		return err
	}
	acc := zeros
	if prev != nil {
		acc = prev.views[m.headWeight()]
	}
	chunk := m.headChunk()
	n := (len(idx) + chunk - 1) / chunk
	if n == 0 {
		return target.CopyFromValue(acc)
	}
	hh, err := host(h)
	if err != nil {
		return err
	}
	for c := 0; c < n; c++ {
		part := idx[c*chunk : min(len(idx), (c+1)*chunk)]
		out := scratch
		if (n-1-c)%2 == 0 {
			out = target
		}
		cs := &scope{}
		err := m.headChunkVJP(cs, b, p, hh, part, temperature, dLogp, dEnt, acc, out, dh, dNorm)
		cs.close()
		if err != nil {
			return err
		}
		acc = out
	}
	return nil
}

// headChunkVJP runs head_vjp on one chunk of positions: d_head = acc + this chunk's, written
// into out; dh and dNorm accumulate on the host.
func (m *Model) headChunkVJP(sc *scope, b Batch, p *deviceStore, h *ort.Tensor, part []int, temperature float64, dLogp, dEnt []float32, acc, out *ort.Value, dh *ort.Tensor, dNorm []float32) error {
	H := m.Config.HiddenSize
	n := int64(len(part))
	dl, de := make([]float32, n), make([]float32, n)
	for j, i := range part {
		r, t := i/b.T, i%b.T
		dl[j], de[j] = dLogp[r*(b.T-1)+t], dEnt[r*(b.T-1)+t]
	}
	in, err := m.headInputs(sc, b, h, part, temperature)
	if err != nil {
		return err
	}
	cot, err := m.uploadAll(sc, floatsOf(m.opts.DType, dl, n), floatsOf(m.opts.DType, de, n))
	if err != nil {
		return err
	}
	in = append(append(in, p.views[FinalNormName], p.views[m.headWeight()]), cot[0], cot[1], acc)
	got, err := m.run(sc, GraphHeadVJP, in, []*ort.Value{nil, nil, out})
	if err != nil {
		return err
	}
	gh, err := host(got[0])
	if err != nil {
		return err
	}
	for j, i := range part {
		addBlock(dh, i*H, 0, gh, j*H, 0, H, 1)
	}
	gn, err := host(got[1])
	if err != nil {
		return err
	}
	for k, v := range toF32(gn) {
		dNorm[k] += v
	}
	return nil
}

// layerVJP runs the backward of layer l: the layer's VJP graphs recompute it from its input
// x and take the output's gradient dy; they leave the layer's parameter gradients, added to
// prev's (nil: none), in their views of dg and return the input's gradient (in sc). Split layers recompute q, k, v and
// attention first, to pass them to the VJP of layer_out and attention.
func (m *Model) layerVJP(sc *scope, p, dg, prev *deviceStore, l int, x *ort.Value, bi *batchInputs, dy *ort.Value) (*ort.Value, error) {
	if bi.whole {
		name, in := accumulating(GraphLayerVJP, append(bi.wholeInputs(p, l, x), dy), prev, l, wholeParams)
		got, err := m.run(sc, name, in, append([]*ort.Value{nil}, dg.layer(l, wholeParams)...))
		if err != nil {
			return nil, err
		}
		return got[0], nil
	}
	ls := &scope{}
	defer ls.close()
	q, k, v, attn, err := m.splitAttention(ls, p, l, x, bi)
	if err != nil {
		return nil, err
	}
	in := append(append([]*ort.Value{x, attn}, p.layer(l, outParams)...), dy)
	name, in := accumulating(GraphLayerOutVJP, in, prev, l, outParams)
	got, err := m.run(ls, name, in, append([]*ort.Value{nil, nil}, dg.layer(l, outParams)...))
	if err != nil {
		return nil, err
	}
	dxOut, dAttn := got[0], got[1]
	dq, dk, dv, err := m.attentionVJP(ls, q, k, v, bi.mask, dAttn)
	if err != nil {
		return nil, err
	}
	// layer_qkv_vjp adds the residual path's gradient (d_skip) to the attention path's.
	in = append(append([]*ort.Value{x, bi.positions}, p.layer(l, qkvParams)...), dq, dk, dv, dxOut)
	name, in = accumulating(GraphQKVVJP, in, prev, l, qkvParams)
	got, err = m.run(sc, name, in, append([]*ort.Value{nil}, dg.layer(l, qkvParams)...))
	if err != nil {
		return nil, err
	}
	return got[0], nil
}

// accumulating returns the VJP graph to run and its inputs: name and in as they are without
// earlier gradients (prev nil), else name's accumulating variant with prev's views of layer
// l's parameters ps appended.
func accumulating(name string, in []*ort.Value, prev *deviceStore, l int, ps []layerParam) (string, []*ort.Value) {
	if prev == nil {
		return name, in
	}
	return name + accSuffix, append(in, prev.layer(l, ps)...)
}
