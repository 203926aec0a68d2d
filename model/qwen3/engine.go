package qwen3

import (
	"fmt"
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

// Working-set budgets, in elements of the float type.
const (
	// attentionBudget bounds one query block's scores: heads x block x keys.
	attentionBudget = 1 << 24
	// headBudget bounds one head chunk's logits: tokens x vocabulary.
	headBudget = 1 << 25
)

// queryBlock returns the number of queries per attention block for S keys.
func (m *Model) queryBlock(T, S int) int {
	if m.opts.QueryBlock > 0 {
		return min(T, m.opts.QueryBlock)
	}
	return max(1, min(T, attentionBudget/(m.Config.NumAttentionHeads*max(S, 1))))
}

// headChunk returns the number of tokens per head chunk.
func (m *Model) headChunk() int {
	if m.opts.HeadChunk > 0 {
		return m.opts.HeadChunk
	}
	return max(1, headBudget/m.Config.VocabSize)
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

// run runs one engine graph.
func (m *Model) run(name string, in, out []*ort.Tensor) ([]*ort.Tensor, error) {
	s, err := m.session(name)
	if err != nil {
		return nil, err
	}
	if p := m.opts.Profile; p != nil {
		defer func(start time.Time) { p.add(name, time.Since(start)) }(time.Now())
	}
	got, err := s.Run(in, out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return got, nil
}

// param returns parameter name as a graph input of the engine's float type.
func (m *Model) param(name string) *ort.Tensor {
	v, ok := m.Params.Lookup(name)
	if !ok {
		panic("qwen3: missing parameter " + name) // ParamSpecs and the store agree by construction
	}
	return floatsOf(m.opts.DType, m.Params.Slice(v), v.Shape...)
}

func (m *Model) layerParams(l int, ps []layerParam) []*ort.Tensor {
	names := Layer(l)
	out := make([]*ort.Tensor, len(ps))
	for i, p := range ps {
		out[i] = m.param(p.name(names))
	}
	return out
}

func (m *Model) headWeight() string {
	if m.Config.TieWordEmbeddings {
		return EmbedName
	}
	return LMHeadName
}

func (m *Model) headParams() []*ort.Tensor {
	return []*ort.Tensor{m.param(FinalNormName), m.param(m.headWeight())}
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
func (m *Model) layerQKV(l int, x, positions *ort.Tensor) (q, k, v *ort.Tensor, err error) {
	in := append([]*ort.Tensor{x, positions}, m.layerParams(l, qkvParams)...)
	got, err := m.run(GraphQKV, in, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("layer %d: %w", l, err)
	}
	return got[0], got[1], got[2], nil
}

// attention runs causal attention of q [B, heads, T, D] against k, v [B, kv, S, D] in query
// blocks; query t sits at key index offset+t and sees keys j <= offset+t with keyMask[b, j]
// set. Keys past a block's last query are not passed to it. It returns [B, T, heads*D].
func (m *Model) attention(q, k, v *ort.Tensor, keyMask []int64, offset int) (*ort.Tensor, error) {
	B, T, S := int(q.Shape[0]), int(q.Shape[2]), int(k.Shape[2])
	width := m.Config.NumAttentionHeads * m.Config.HeadDim
	block := m.queryBlock(T, S)
	if block >= T {
		got, err := m.run(GraphAttention, []*ort.Tensor{q, k, v, ort.I64Tensor(keyMask, int64(B), int64(S)), queryIndex(offset, T)}, nil)
		if err != nil {
			return nil, err
		}
		return got[0], nil
	}
	out := newFloat(m.opts.DType, int64(B), int64(T), int64(width))
	for from := 0; from < T; from += block {
		to := min(T, from+block)
		keys := offset + to // keys past the block's last query are masked for all its queries
		in := []*ort.Tensor{sliceAxis2(q, from, to), sliceAxis2(k, 0, keys), sliceAxis2(v, 0, keys),
			ort.I64Tensor(prefixColumns(keyMask, B, S, keys), int64(B), int64(keys)), queryIndex(offset+from, to-from)}
		got, err := m.run(GraphAttention, in, nil)
		if err != nil {
			return nil, err
		}
		copyBlock(out, from*width, T*width, got[0], 0, (to-from)*width, (to-from)*width, B)
	}
	return out, nil
}

// attentionVJP is the backward of attention: given dAttn [B, T, heads*D] it returns dq
// [B, heads, T, D] and dk, dv [B, kv, S, D], processing the same query blocks.
func (m *Model) attentionVJP(q, k, v *ort.Tensor, keyMask []int64, offset int, dAttn *ort.Tensor) (dq, dk, dv *ort.Tensor, err error) {
	B, T, S := int(q.Shape[0]), int(q.Shape[2]), int(k.Shape[2])
	width := m.Config.NumAttentionHeads * m.Config.HeadDim
	block := m.queryBlock(T, S)
	if block >= T {
		got, err := m.run(GraphAttentionVJP, []*ort.Tensor{q, k, v, ort.I64Tensor(keyMask, int64(B), int64(S)), queryIndex(offset, T), dAttn}, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		return got[0], got[1], got[2], nil
	}
	dq = newFloat(m.opts.DType, q.Shape...)
	dk = newFloat(m.opts.DType, k.Shape...)
	dv = newFloat(m.opts.DType, v.Shape...)
	for from := 0; from < T; from += block {
		to := min(T, from+block)
		keys := offset + to
		dBlock := newFloat(m.opts.DType, int64(B), int64(to-from), int64(width))
		copyBlock(dBlock, 0, (to-from)*width, dAttn, from*width, T*width, (to-from)*width, B)
		in := []*ort.Tensor{sliceAxis2(q, from, to), sliceAxis2(k, 0, keys), sliceAxis2(v, 0, keys),
			ort.I64Tensor(prefixColumns(keyMask, B, S, keys), int64(B), int64(keys)), queryIndex(offset+from, to-from), dBlock}
		got, err := m.run(GraphAttentionVJP, in, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		putAxis2(dq, from, got[0], false)
		putAxis2(dk, 0, got[1], true)
		putAxis2(dv, 0, got[2], true)
	}
	return dq, dk, dv, nil
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

// layerOut runs layer_out for layer l.
func (m *Model) layerOut(l int, x, attn *ort.Tensor) (*ort.Tensor, error) {
	in := append([]*ort.Tensor{x, attn}, m.layerParams(l, outParams)...)
	got, err := m.run(GraphLayerOut, in, []*ort.Tensor{newFloat(m.opts.DType, x.Shape...)})
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	return got[0], nil
}

// forward runs the decoder layers on a right-padded batch and returns the hidden state
// entering every layer and the last layer's output: len(Layers)+1 tensors [B, T, H].
func (m *Model) forward(b Batch) ([]*ort.Tensor, error) {
	B, T, H := int64(b.B), int64(b.T), int64(m.Config.HiddenSize)
	x, err := m.embed(b.IDs, B, T, H)
	if err != nil {
		return nil, err
	}
	positions := ort.I64Tensor(positionsOf(b.Mask, b.B, b.T), B, T)
	states := []*ort.Tensor{x}
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		q, k, v, err := m.layerQKV(l, x, positions)
		if err != nil {
			return nil, err
		}
		attn, err := m.attention(q, k, v, b.Mask, 0)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", l, err)
		}
		if x, err = m.layerOut(l, x, attn); err != nil {
			return nil, err
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

// head runs the chunked head over positions idx of the final hidden states h [B*T, H] and
// writes logp and entropy of each into the [B, T-1] outputs.
func (m *Model) head(b Batch, h *ort.Tensor, idx []int, temperature float64, out ScoreOutput) error {
	H := m.Config.HiddenSize
	params := m.headParams()
	chunk := m.headChunk()
	for from := 0; from < len(idx); from += chunk {
		part := idx[from:min(len(idx), from+chunk)]
		targets := make([]int64, len(part))
		for j, i := range part {
			targets[j] = b.IDs[i+1]
		}
		in := append([]*ort.Tensor{gatherRows(h, part, H), ort.I64Tensor(targets, int64(len(part))), m.scalar(temperature)}, params...)
		got, err := m.run(GraphHead, in, nil)
		if err != nil {
			return err
		}
		logp, ent := toF32(got[0]), toF32(got[1])
		for j, i := range part {
			r, t := i/b.T, i%b.T
			out.Logp[r*(b.T-1)+t] = logp[j]
			out.Entropy[r*(b.T-1)+t] = ent[j]
		}
	}
	return nil
}

// score runs the layer loop and the head: log-probabilities and entropies of logits /
// temperature at every position whose next token is real (0 elsewhere).
func (m *Model) score(b Batch, temperature float64) (ScoreOutput, error) {
	states, err := m.forward(b)
	if err != nil {
		return ScoreOutput{}, err
	}
	out := ScoreOutput{Logp: make([]float32, b.B*(b.T-1)), Entropy: make([]float32, b.B*(b.T-1)), B: b.B, T: b.T}
	return out, m.head(b, states[len(states)-1], scored(b), temperature, out)
}

// gradSink receives parameter gradients: float32 graphs write straight into the gradient
// store's views; float64 graphs write into temporaries that are converted.
type gradSink struct {
	dt    graph.DType
	grads *weights.Store
}

// outputs returns output tensors for the gradients of names: views of the store (float32) or
// nil slots that ONNX Runtime allocates (float64).
func (s gradSink) outputs(names []string) []*ort.Tensor {
	out := make([]*ort.Tensor, len(names))
	if s.dt != graph.Float32 {
		return out
	}
	for i, n := range names {
		v, _ := s.grads.Lookup(n)
		out[i] = ort.F32Tensor(s.grads.Slice(v), v.Shape...)
	}
	return out
}

// store writes got (float64 results) into the store; float32 results are already there.
func (s gradSink) store(names []string, got []*ort.Tensor) {
	if s.dt == graph.Float32 {
		return
	}
	for i, n := range names {
		v, _ := s.grads.Lookup(n)
		copy(s.grads.Slice(v), toF32(got[i]))
	}
}

// scoreVJP runs the backward pass: the gradient of sum(dLogp*logp + dEnt*entropy) with
// respect to every parameter, written into grads.
func (m *Model) scoreVJP(b Batch, temperature float64, dLogp, dEnt []float32, grads *weights.Store) error {
	for i := range grads.Data {
		grads.Data[i] = 0
	}
	sink := gradSink{dt: m.opts.DType, grads: grads}
	states, err := m.forward(b)
	if err != nil {
		return err
	}
	B, T, H := b.B, b.T, m.Config.HiddenSize
	dx := newFloat(m.opts.DType, int64(B), int64(T), int64(H))
	if err := m.headVJP(b, states[len(states)-1], temperature, dLogp, dEnt, dx, sink); err != nil {
		return err
	}
	positions := ort.I64Tensor(positionsOf(b.Mask, B, T), int64(B), int64(T))
	for l := m.Config.NumHiddenLayers - 1; l >= 0; l-- {
		if dx, err = m.layerVJP(l, states[l], positions, b.Mask, dx, sink); err != nil {
			return err
		}
	}
	// Embedding rows: summed in position order, so the result does not depend on threads.
	emb, _ := grads.Lookup(EmbedName)
	dE := grads.Slice(emb)
	dx32 := toF32(dx)
	for i, id := range b.IDs {
		if b.Mask[i] == 0 {
			continue
		}
		row := dE[int(id)*H : (int(id)+1)*H]
		for j, v := range dx32[i*H : (i+1)*H] {
			row[j] += v
		}
	}
	return nil
}

// headVJP runs head_vjp over the chunks of positions with a nonzero cotangent, adding the
// hidden-state gradients into dh [B, T, H] and the final norm's and head's into the sink.
func (m *Model) headVJP(b Batch, h *ort.Tensor, temperature float64, dLogp, dEnt []float32, dh *ort.Tensor, sink gradSink) error {
	H, V := m.Config.HiddenSize, m.Config.VocabSize
	var idx []int
	for _, i := range scored(b) {
		r, t := i/b.T, i%b.T
		if k := r*(b.T-1) + t; dLogp[k] != 0 || dEnt[k] != 0 {
			idx = append(idx, i)
		}
	}
	names := []string{FinalNormName, m.headWeight()}
	norm := make([]float32, H)
	head := make([]float32, V*H)
	params := m.headParams()
	chunk := m.headChunk()
	for from := 0; from < len(idx); from += chunk {
		part := idx[from:min(len(idx), from+chunk)]
		n := int64(len(part))
		targets := make([]int64, n)
		dl, de := make([]float32, n), make([]float32, n)
		for j, i := range part {
			r, t := i/b.T, i%b.T
			targets[j] = b.IDs[i+1]
			dl[j], de[j] = dLogp[r*(b.T-1)+t], dEnt[r*(b.T-1)+t]
		}
		in := append([]*ort.Tensor{gatherRows(h, part, H), ort.I64Tensor(targets, n), m.scalar(temperature)}, params...)
		in = append(in, floatsOf(m.opts.DType, dl, n), floatsOf(m.opts.DType, de, n))
		out := []*ort.Tensor{nil, nil, nil}
		if m.opts.DType == graph.Float32 {
			out[1], out[2] = ort.F32Tensor(norm, int64(H)), ort.F32Tensor(head, int64(V), int64(H))
		}
		got, err := m.run(GraphHeadVJP, in, out)
		if err != nil {
			return err
		}
		for j, i := range part {
			addBlock(dh, i*H, 0, got[0], j*H, 0, H, 1)
		}
		for k, g := range [][]float32{toF32(got[1]), toF32(got[2])} {
			v, _ := sink.grads.Lookup(names[k])
			dst := sink.grads.Slice(v)
			for e, x := range g {
				dst[e] += x
			}
		}
	}
	return nil
}

// layerVJP runs the backward of layer l: it recomputes q, k, v and attention from the
// layer's input x, runs the layer's VJP graphs with the output's gradient dy, writes the
// layer's parameter gradients into the sink and returns the input's gradient.
func (m *Model) layerVJP(l int, x, positions *ort.Tensor, mask []int64, dy *ort.Tensor, sink gradSink) (*ort.Tensor, error) {
	q, k, v, err := m.layerQKV(l, x, positions)
	if err != nil {
		return nil, err
	}
	attn, err := m.attention(q, k, v, mask, 0)
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	names := Layer(l)
	outNames := paramNames(names, outParams)
	in := append(append([]*ort.Tensor{x, attn}, m.layerParams(l, outParams)...), dy)
	got, err := m.run(GraphLayerOutVJP, in, append([]*ort.Tensor{nil, nil}, sink.outputs(outNames)...))
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	sink.store(outNames, got[2:])
	dx, dAttn := got[0], got[1]
	dq, dk, dv, err := m.attentionVJP(q, k, v, mask, 0, dAttn)
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	qkvNames := paramNames(names, qkvParams)
	in = append(append([]*ort.Tensor{x, positions}, m.layerParams(l, qkvParams)...), dq, dk, dv)
	got, err = m.run(GraphQKVVJP, in, append([]*ort.Tensor{nil}, sink.outputs(qkvNames)...))
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", l, err)
	}
	sink.store(qkvNames, got[1:])
	addInto(dx, got[0])
	return dx, nil
}

func paramNames(names LayerNames, ps []layerParam) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name(names)
	}
	return out
}
