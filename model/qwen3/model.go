package qwen3

import (
	"fmt"
	"sync"

	"ltecli/model/graph"
	"ltecli/ort"
	"ltecli/weights"
)

// Options choose how the model's graphs run.
type Options struct {
	Session ort.SessionConfig
	// DType is the graphs' float type: graph.Float32 (default), or graph.Float64 for exact
	// numerical checks of score and score_vjp (parameters are converted on every call).
	DType graph.DType
}

// Model is a Qwen3 checkpoint bound to its ONNX Runtime sessions. Parameters live in one flat
// fp32 store and are passed to every session call as input tensors, so an optimizer can update
// them in place between calls. Sessions are built on first use.
type Model struct {
	Config Config
	Params *weights.Store

	opts     Options
	sessions *sessionCache
}

// sessionCache holds a model's sessions; copies made by WithParams share it.
type sessionCache struct {
	mu    sync.Mutex
	byKey map[string]*ort.Session
}

// Load reads config.json and the safetensors files of a Hugging Face model folder.
func Load(dir string, opts Options) (*Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	params, err := LoadParams(cfg, ckpt)
	if err != nil {
		return nil, err
	}
	return New(cfg, params, opts), nil
}

// New binds a config and parameters (in cfg.ParamSpecs layout) to a model.
func New(cfg Config, params *weights.Store, opts Options) *Model {
	if opts.DType == 0 {
		opts.DType = graph.Float32
	}
	if opts.Session.Threads == 0 && opts.Session.Provider == "" {
		opts.Session = ort.DefaultSessionConfig()
		if opts.DType == graph.Float64 {
			// Some fusions at higher levels (QuickGelu for x*sigmoid(x)) have fp32 kernels only.
			opts.Session.OptLevel = ort.OptBasic
		}
	}
	return &Model{Config: cfg, Params: params, opts: opts, sessions: &sessionCache{byKey: map[string]*ort.Session{}}}
}

// WithParams returns a model that runs the same sessions with other parameters of the same
// layout (a frozen reference policy, say).
func (m *Model) WithParams(params *weights.Store) *Model {
	return &Model{Config: m.Config, Params: params, opts: m.opts, sessions: m.sessions}
}

// Close releases the sessions (of every model sharing them).
func (m *Model) Close() error {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for k, s := range c.byKey {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.byKey, k)
	}
	return first
}

// Graph builds one of the model's graphs by name: "score", "score_vjp", "prefill", "decode".
func (m *Model) Graph(kind string) (*graph.Graph, error) {
	switch kind {
	case "score":
		return BuildScore(m.Config, m.opts.DType)
	case "score_vjp":
		return BuildScoreVJP(m.Config, m.opts.DType)
	case "prefill":
		return BuildPrefill(m.Config, m.opts.DType)
	case "decode":
		return BuildDecode(m.Config, m.opts.DType)
	}
	return nil, fmt.Errorf("unknown graph %q", kind)
}

// GraphKinds lists the graphs of a model.
var GraphKinds = []string{"score", "score_vjp", "prefill", "decode"}

func (m *Model) session(kind string) (*ort.Session, error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.byKey[kind]; ok {
		return s, nil
	}
	g, err := m.Graph(kind)
	if err != nil {
		return nil, fmt.Errorf("building %s graph: %w", kind, err)
	}
	bytes, err := g.Encode()
	if err != nil {
		return nil, fmt.Errorf("encoding %s graph: %w", kind, err)
	}
	cfg := m.opts.Session
	cfg.NoArena = kind == "score" || kind == "score_vjp" // [B, T, V] buffers dwarf everything else
	s, err := ort.NewSession(bytes, g.InputNames(), g.OutputNames(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s graph: %w", kind, err)
	}
	c.byKey[kind] = s
	return s, nil
}

// paramTensors wraps every parameter as an input tensor: views of the store for fp32 graphs
// (no copy), converted copies for fp64 graphs.
func (m *Model) paramTensors() []*ort.Tensor {
	out := make([]*ort.Tensor, len(m.Params.Views))
	for i, v := range m.Params.Views {
		data := m.Params.Slice(v)
		if m.opts.DType == graph.Float64 {
			out[i] = ort.F64Tensor(toF64(data), v.Shape...)
		} else {
			out[i] = ort.F32Tensor(data, v.Shape...)
		}
	}
	return out
}

// floatTensor wraps float32 data in the graphs' float type.
func (m *Model) floatTensor(data []float32, shape ...int64) *ort.Tensor {
	if m.opts.DType == graph.Float64 {
		return ort.F64Tensor(toF64(data), shape...)
	}
	return ort.F32Tensor(data, shape...)
}

func (m *Model) floats(t *ort.Tensor) []float32 {
	if t.DType == ort.Float64 {
		out := make([]float32, len(t.F64))
		for i, v := range t.F64 {
			out[i] = float32(v)
		}
		return out
	}
	return t.F32
}

func toF64(data []float32) []float64 {
	out := make([]float64, len(data))
	for i, v := range data {
		out[i] = float64(v)
	}
	return out
}

// Batch is a padded batch of token sequences: IDs and Mask are [B, T] row-major, Mask 1 on
// real tokens and 0 on padding. Lens holds each row's real length.
type Batch struct {
	IDs  []int64
	Mask []int64
	B, T int
	Lens []int
	Left bool // padding on the left (generation) or the right (scoring)
}

// RightPad packs sequences with padding after each one (pad id 0), as score expects.
func RightPad(seqs [][]int) Batch { return pad(seqs, false) }

// LeftPad packs sequences with padding before each one (pad id 0), so that the last column
// is every row's last real token, as prefill expects.
func LeftPad(seqs [][]int) Batch { return pad(seqs, true) }

func pad(seqs [][]int, left bool) Batch {
	b := Batch{B: len(seqs), Left: left, Lens: make([]int, len(seqs))}
	for i, s := range seqs {
		b.Lens[i] = len(s)
		b.T = max(b.T, len(s))
	}
	b.IDs = make([]int64, b.B*b.T)
	b.Mask = make([]int64, b.B*b.T)
	for i, s := range seqs {
		off := i * b.T
		if left {
			off += b.T - len(s)
		}
		for j, id := range s {
			b.IDs[off+j] = int64(id)
			b.Mask[off+j] = 1
		}
	}
	return b
}

// ScoreOutput holds score's per-position results, [B, T-1] row-major: position t of row i
// scores token t+1.
type ScoreOutput struct {
	Logp, Entropy []float32
	B, T          int // T is the padded sequence length; rows have T-1 entries
}

// Row returns the log-probabilities and entropies of the real next tokens of row i of a
// right-padded batch: entries 0..Lens[i]-2.
func (s ScoreOutput) Row(i, length int) (logp, entropy []float32) {
	off := i * (s.T - 1)
	return s.Logp[off : off+length-1], s.Entropy[off : off+length-1]
}

// Score runs the score graph: log-probabilities and entropies of logits / temperature.
func (m *Model) Score(b Batch, temperature float64) (ScoreOutput, error) {
	if b.T < 2 {
		return ScoreOutput{}, fmt.Errorf("score needs sequences of at least 2 tokens, got %d", b.T)
	}
	s, err := m.session("score")
	if err != nil {
		return ScoreOutput{}, err
	}
	in := append(m.paramTensors(),
		ort.I64Tensor(b.IDs, int64(b.B), int64(b.T)),
		ort.I64Tensor(b.Mask, int64(b.B), int64(b.T)),
		m.scalar(temperature))
	out, err := s.Run(in, nil)
	if err != nil {
		return ScoreOutput{}, fmt.Errorf("score: %w", err)
	}
	return ScoreOutput{Logp: m.floats(out[0]), Entropy: m.floats(out[1]), B: b.B, T: b.T}, nil
}

func (m *Model) scalar(x float64) *ort.Tensor {
	if m.opts.DType == graph.Float64 {
		return ort.F64Tensor([]float64{x})
	}
	return ort.F32Tensor([]float32{float32(x)})
}

// ScoreVJP computes the gradient of sum(dLogp * logp + dEntropy * entropy) with respect to
// every parameter, writing (not adding) it into grads, a store with the parameters' layout.
// dLogp and dEntropy are [B, T-1] like score's outputs.
func (m *Model) ScoreVJP(b Batch, temperature float64, dLogp, dEntropy []float32, grads *weights.Store) error {
	n := b.B * (b.T - 1)
	if len(dLogp) != n || len(dEntropy) != n {
		return fmt.Errorf("score_vjp: cotangents have %d and %d entries, want %d", len(dLogp), len(dEntropy), n)
	}
	if len(grads.Views) != len(m.Params.Views) {
		return fmt.Errorf("score_vjp: gradient store has %d tensors, model %d", len(grads.Views), len(m.Params.Views))
	}
	s, err := m.session("score_vjp")
	if err != nil {
		return err
	}
	in := append(m.paramTensors(),
		ort.I64Tensor(b.IDs, int64(b.B), int64(b.T)),
		ort.I64Tensor(b.Mask, int64(b.B), int64(b.T)),
		m.scalar(temperature),
		m.floatTensor(dLogp, int64(b.B), int64(b.T-1)),
		m.floatTensor(dEntropy, int64(b.B), int64(b.T-1)))
	outs := make([]*ort.Tensor, len(grads.Views))
	if m.opts.DType == graph.Float32 {
		for i, v := range grads.Views {
			outs[i] = ort.F32Tensor(grads.Slice(v), v.Shape...)
		}
	}
	got, err := s.Run(in, outs)
	if err != nil {
		return fmt.Errorf("score_vjp: %w", err)
	}
	if m.opts.DType == graph.Float64 {
		for i, v := range grads.Views {
			copy(grads.Slice(v), m.floats(got[i]))
		}
	}
	return nil
}

// KVCache holds each layer's keys and values, [B, kv_heads, P, D] row-major.
type KVCache struct {
	K, V [][]float32
	B, P int
}

// Prefill runs a left-padded batch of prompts and returns the last position's logits [B, V]
// and the KV cache of every position.
func (m *Model) Prefill(b Batch) ([]float32, *KVCache, error) {
	if !b.Left {
		return nil, nil, fmt.Errorf("prefill needs a left-padded batch")
	}
	s, err := m.session("prefill")
	if err != nil {
		return nil, nil, err
	}
	in := append(m.paramTensors(),
		ort.I64Tensor(b.IDs, int64(b.B), int64(b.T)),
		ort.I64Tensor(b.Mask, int64(b.B), int64(b.T)))
	cache := m.newCache(b.B, b.T)
	out := m.cacheOutputs(cache, int64(b.B*m.Config.VocabSize))
	got, err := s.Run(in, out)
	if err != nil {
		return nil, nil, fmt.Errorf("prefill: %w", err)
	}
	return got[0].F32, cache, nil
}

// Decode feeds one token per row: ids [B], mask [B, P+1] (the cache's mask plus 1 for the new
// token), and returns logits [B, V] and the cache grown by one position.
func (m *Model) Decode(ids []int64, mask []int64, cache *KVCache) ([]float32, *KVCache, error) {
	B, P := cache.B, cache.P
	if len(ids) != B || len(mask) != B*(P+1) {
		return nil, nil, fmt.Errorf("decode: %d ids and %d mask entries for a cache of %d rows x %d positions", len(ids), len(mask), B, P)
	}
	s, err := m.session("decode")
	if err != nil {
		return nil, nil, err
	}
	kv, D := int64(m.Config.NumKeyValueHeads), int64(m.Config.HeadDim)
	in := append(m.paramTensors(),
		ort.I64Tensor(ids, int64(B), 1),
		ort.I64Tensor(mask, int64(B), int64(P+1)))
	for l := range cache.K {
		in = append(in, ort.F32Tensor(cache.K[l], int64(B), kv, int64(P), D), ort.F32Tensor(cache.V[l], int64(B), kv, int64(P), D))
	}
	next := m.newCache(B, P+1)
	got, err := s.Run(in, m.cacheOutputs(next, int64(B*m.Config.VocabSize)))
	if err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	return got[0].F32, next, nil
}

func (m *Model) newCache(B, P int) *KVCache {
	n := B * m.Config.NumKeyValueHeads * P * m.Config.HeadDim
	c := &KVCache{K: make([][]float32, m.Config.NumHiddenLayers), V: make([][]float32, m.Config.NumHiddenLayers), B: B, P: P}
	for l := range c.K {
		c.K[l] = make([]float32, n)
		c.V[l] = make([]float32, n)
	}
	return c
}

// cacheOutputs preallocates the logits and present_* outputs so that ONNX Runtime writes the
// cache straight into Go memory.
func (m *Model) cacheOutputs(c *KVCache, logits int64) []*ort.Tensor {
	kv, D := int64(m.Config.NumKeyValueHeads), int64(m.Config.HeadDim)
	out := []*ort.Tensor{ort.F32Tensor(make([]float32, logits), int64(c.B), int64(m.Config.VocabSize))}
	for l := range c.K {
		out = append(out, ort.F32Tensor(c.K[l], int64(c.B), kv, int64(c.P), D), ort.F32Tensor(c.V[l], int64(c.B), kv, int64(c.P), D))
	}
	return out
}

// SelectRows returns a cache holding rows idx of c, in that order (rows may repeat), used to
// share a prompt's cache among its samples and to drop finished rows.
func (c *KVCache) SelectRows(idx []int) *KVCache {
	out := &KVCache{K: make([][]float32, len(c.K)), V: make([][]float32, len(c.V)), B: len(idx), P: c.P}
	if c.B == 0 {
		return out
	}
	row := len(c.K[0]) / c.B
	for l := range c.K {
		out.K[l] = make([]float32, len(idx)*row)
		out.V[l] = make([]float32, len(idx)*row)
		for j, i := range idx {
			copy(out.K[l][j*row:(j+1)*row], c.K[l][i*row:(i+1)*row])
			copy(out.V[l][j*row:(j+1)*row], c.V[l][i*row:(i+1)*row])
		}
	}
	return out
}
