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
	// Compute is the type of the graphs' matrix products (Precision.Compute): graph.BFloat16
	// multiplies in bfloat16, with the float32 parameters Go keeps as the master copy; 0 is
	// DType. The CPU has no bfloat16 products and emulates them (Precision.Emulate): slower
	// than float32, with bfloat16's numerics.
	Compute graph.DType
	// QueryBlock and HeadChunk override the engine's attention query-block size and head
	// chunk size (0: sized from the working-set budgets); tests use small values to exercise
	// the blocked paths.
	QueryBlock, HeadChunk int
	// Profile, when not nil, accumulates the time spent in each engine graph.
	Profile *Profile
	// SeparateMemory keeps parameters and gradients in buffers of their own, uploaded and
	// downloaded, as on a GPU, also on the CPU (where they otherwise share the stores' memory):
	// it lets CPU tests run the GPU's data movement.
	SeparateMemory bool
	// SplitLayers runs every layer as three graphs (layer_qkv, attention, layer_out) and their
	// VJPs even where the whole layer graph applies (a sequence whose attention fits one query
	// block): for comparisons and tests of the split path.
	SplitLayers bool
}

// Model is a Qwen3 checkpoint bound to its ONNX Runtime sessions. Parameters live in one flat
// fp32 store and are passed to every session call as input tensors, so an optimizer can update
// them in place between calls. Sessions are built on first use.
type Model struct {
	Config Config
	Params *weights.Store

	opts     Options
	dev      *ort.Device // set by ready
	sessions *sessionCache
}

// sessionCache holds a model's device resources; copies made by WithParams share it.
type sessionCache struct {
	mu          sync.Mutex
	dev         *ort.Device
	byKey       map[string]*ort.Session
	params      map[*weights.Store]*deviceStore // parameters resident on the device, per store
	grads       map[*weights.Store]*deviceStore // gradient buffers (one for all stores off the CPU)
	gradSpare   *deviceStore                    // a second gradient buffer (ScoreVJPSum)
	headScratch *ort.Value                      // [V, H]
	headZeros   *ort.Value                      // [V, H]
	// backward serialises ScoreVJP calls, which share the device gradient buffer (off the
	// CPU) and the head's scratch.
	backward sync.Mutex
}

// ready opens the model's device (ONNX Runtime and, for CUDA, its provider) on first use.
func (m *Model) ready() error {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dev == nil {
		dev, err := ort.OpenDevice(m.opts.Session)
		if err != nil {
			return err
		}
		c.dev = dev
	}
	m.dev = c.dev
	return nil
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
	return &Model{Config: cfg, Params: params, opts: opts, sessions: &sessionCache{byKey: map[string]*ort.Session{},
		params: map[*weights.Store]*deviceStore{}, grads: map[*weights.Store]*deviceStore{}}}
}

// WithParams returns a model that runs the same sessions with other parameters of the same
// layout (a frozen reference policy, say).
func (m *Model) WithParams(params *weights.Store) *Model {
	return &Model{Config: m.Config, Params: params, opts: m.opts, dev: m.dev, sessions: m.sessions}
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
	for _, stores := range []map[*weights.Store]*deviceStore{c.params, c.grads} {
		for k, d := range stores {
			d.close()
			delete(stores, k)
		}
	}
	if c.gradSpare != nil {
		c.gradSpare.close()
		c.gradSpare = nil
	}
	c.headScratch.Close()
	c.headZeros.Close()
	c.headScratch, c.headZeros = nil, nil
	return first
}

// Graph builds one of the engine's graphs by name (EngineGraphs).
func (m *Model) Graph(name string) (*graph.Graph, error) {
	return BuildEngineGraph(m.Config, name, m.Precision())
}

// Precision returns the float types of the model's graphs.
func (m *Model) Precision() Precision {
	cpu := m.opts.Session.Provider == "" || m.opts.Session.Provider == ort.CPU
	return Precision{DType: m.opts.DType, Compute: m.opts.Compute, Emulate: cpu}
}

func (m *Model) session(name string) (*ort.Session, error) {
	c := m.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.byKey[name]; ok {
		return s, nil
	}
	g, err := m.Graph(name)
	if err != nil {
		return nil, fmt.Errorf("building %s graph: %w", name, err)
	}
	bytes, err := g.Encode()
	if err != nil {
		return nil, fmt.Errorf("encoding %s graph: %w", name, err)
	}
	s, err := c.dev.NewSession(bytes, g.InputNames(), g.OutputNames(), m.opts.Session)
	if err != nil {
		return nil, fmt.Errorf("%s graph: %w", name, err)
	}
	c.byKey[name] = s
	return s, nil
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

// Score returns the log-probabilities and entropies of logits / temperature of a right-padded
// batch: [B, T-1], position t scoring token t+1; positions whose next token is padding hold 0.
func (m *Model) Score(b Batch, temperature float64) (ScoreOutput, error) {
	if b.T < 2 {
		return ScoreOutput{}, fmt.Errorf("score needs sequences of at least 2 tokens, got %d", b.T)
	}
	if b.Left {
		return ScoreOutput{}, fmt.Errorf("score needs a right-padded batch")
	}
	if err := m.ready(); err != nil {
		return ScoreOutput{}, err
	}
	out, err := m.score(b, temperature)
	if err != nil {
		return ScoreOutput{}, fmt.Errorf("score: %w", err)
	}
	return out, nil
}

func (m *Model) scalar(x float64) *ort.Tensor {
	if m.opts.DType == graph.Float64 {
		return ort.F64Tensor([]float64{x})
	}
	return ort.F32Tensor([]float32{float32(x)})
}

// ScoreVJP computes the gradient of sum(dLogp * logp + dEntropy * entropy) with respect to
// every parameter, writing (not adding) it into grads, a store with the parameters' layout.
// dLogp and dEntropy are [B, T-1] like score's outputs; entries at padded positions must be 0.
func (m *Model) ScoreVJP(b Batch, temperature float64, dLogp, dEntropy []float32, grads *weights.Store) error {
	return m.ScoreVJPSum([]Batch{b}, temperature, [][]float32{dLogp}, [][]float32{dEntropy}, grads)
}

// ScoreVJPSum writes into grads the sum of ScoreVJP's gradients over micro-batches bs, with
// cotangents dLogp[k] and dEntropy[k] for bs[k]. The sum is taken where the gradients are
// computed: on a GPU it stays in device memory until it comes back, once, at the end (the
// gradient is the size of the model). Off the CPU it holds a second gradient buffer on the
// device when there are several micro-batches.
func (m *Model) ScoreVJPSum(bs []Batch, temperature float64, dLogp, dEntropy [][]float32, grads *weights.Store) error {
	if len(bs) == 0 || len(dLogp) != len(bs) || len(dEntropy) != len(bs) {
		return fmt.Errorf("score_vjp: %d batches with %d and %d cotangents", len(bs), len(dLogp), len(dEntropy))
	}
	for k, b := range bs {
		if b.T < 2 {
			return fmt.Errorf("score_vjp needs sequences of at least 2 tokens, got %d", b.T)
		}
		if b.Left {
			return fmt.Errorf("score_vjp needs a right-padded batch")
		}
		n := b.B * (b.T - 1)
		if len(dLogp[k]) != n || len(dEntropy[k]) != n {
			return fmt.Errorf("score_vjp: cotangents have %d and %d entries, want %d", len(dLogp[k]), len(dEntropy[k]), n)
		}
	}
	if len(grads.Views) != len(m.Params.Views) || len(grads.Data) != len(m.Params.Data) {
		return fmt.Errorf("score_vjp: gradient store has %d tensors, model %d", len(grads.Views), len(m.Params.Views))
	}
	if err := m.ready(); err != nil {
		return err
	}
	m.sessions.backward.Lock()
	defer m.sessions.backward.Unlock()
	if err := m.scoreVJPSum(bs, temperature, dLogp, dEntropy, grads); err != nil {
		return fmt.Errorf("score_vjp: %w", err)
	}
	return nil
}

// Prefill runs a left-padded batch of prompts and returns the last position's logits [B, V]
// and the KV cache of every position.
func (m *Model) Prefill(b Batch) ([]float32, *KVCache, error) {
	if !b.Left {
		return nil, nil, fmt.Errorf("prefill needs a left-padded batch")
	}
	if m.opts.DType != graph.Float32 {
		return nil, nil, fmt.Errorf("prefill runs float32 graphs only")
	}
	if err := m.ready(); err != nil {
		return nil, nil, err
	}
	logits, cache, err := m.prefill(b)
	if err != nil {
		return nil, nil, fmt.Errorf("prefill: %w", err)
	}
	return logits, cache, nil
}

// Decode feeds one token per row: ids [B], mask [B, P+1] (the cache's mask plus 1 for the new
// token), and returns logits [B, V] and the cache grown by one position. The cache is grown in
// place (the returned cache is the one passed in): use only the returned one afterwards.
func (m *Model) Decode(ids []int64, mask []int64, cache *KVCache) ([]float32, *KVCache, error) {
	B, P := cache.B, cache.P
	if len(ids) != B || len(mask) != B*(P+1) {
		return nil, nil, fmt.Errorf("decode: %d ids and %d mask entries for a cache of %d rows x %d positions", len(ids), len(mask), B, P)
	}
	if cache.m == nil {
		return nil, nil, fmt.Errorf("decode: the cache was not made by Prefill")
	}
	logits, next, err := m.decode(ids, mask, cache)
	if err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	return logits, next, nil
}

// Prepare builds every engine graph and creates its session now rather than on first use.
func (m *Model) Prepare() error {
	if err := m.ready(); err != nil {
		return err
	}
	for _, name := range EngineGraphs {
		if _, err := m.session(name); err != nil {
			return err
		}
	}
	return nil
}
