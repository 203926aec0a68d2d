// Package ort is the project's only door to ONNX Runtime: it finds and loads the shared
// library, holds the one environment of the process, and runs sessions built from in-memory
// ONNX bytes with tensors in and tensors out.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// LibraryName is the file name of the shared library inside the cache folder.
const LibraryName = "libonnxruntime.so.1"

var (
	initOnce sync.Once
	initErr  error
	libPath  string
)

// Init loads the shared library and creates the process environment. path may be empty: the
// library is then looked up by FindLibrary. Later calls return the first call's result.
func Init(path string) error {
	initOnce.Do(func() {
		if path == "" {
			path, initErr = FindLibrary()
			if initErr != nil {
				return
			}
		}
		if _, err := os.Stat(path); err != nil {
			initErr = fmt.Errorf("onnx runtime library %s: %w (run `make setup` or set ORT_LIB)", path, err)
			return
		}
		onnx.SetSharedLibraryPath(path)
		if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("loading onnx runtime from %s: %w", path, err)
			return
		}
		libPath = path
	})
	return initErr
}

// LibraryPath returns the path of the loaded library ("" before a successful Init).
func LibraryPath() string { return libPath }

// Version returns the version string of the loaded library. It requires a successful Init.
func Version() string { return onnx.GetVersion() }

// FindLibrary returns the first existing candidate: $ORT_LIB, then libonnxruntime.so.1 in
// $LTECLI_CACHE/ort, in .cache/ort beside the running executable's folder (bin/../.cache), in
// .cache/ort of the working directory and its parents, and in the user cache folder.
func FindLibrary() (string, error) {
	if p := os.Getenv("ORT_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ORT_LIB=%s: %w", p, err)
		}
		return p, nil
	}
	var candidates []string
	if c := os.Getenv("LTECLI_CACHE"); c != "" {
		candidates = append(candidates, filepath.Join(c, "ort", LibraryName))
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", ".cache", "ort", LibraryName))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			candidates = append(candidates, filepath.Join(dir, ".cache", "ort", LibraryName))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	if uc, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(uc, "ltecli", "ort", LibraryName))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	return "", errors.New("onnx runtime library not found: run `make setup` (fetches it into .cache/ort) or set ORT_LIB to libonnxruntime.so")
}

// Provider names an execution provider.
type Provider string

// The execution providers the project knows.
const (
	CPU  Provider = "cpu"
	CUDA Provider = "cuda"
)

// OptLevel is ONNX Runtime's graph optimisation level.
type OptLevel int

// Graph optimisation levels, as in ONNX Runtime.
const (
	OptDisable OptLevel = iota
	OptBasic
	OptExtended
	OptAll
)

// SessionConfig chooses how a session runs.
type SessionConfig struct {
	Provider Provider // "" means CPU
	Threads  int      // intra-op threads; 0 means all cores
	OptLevel OptLevel // default OptAll (the zero value is OptDisable; use DefaultSessionConfig)
	// NoArena frees buffers after each run instead of keeping them in ONNX Runtime's CPU
	// arena: it halves the peak memory of large training graphs at no measurable speed cost.
	NoArena bool
	// Spin lets idle intra-op threads spin between parallel sections (ONNX Runtime's default).
	// Off, they sleep: the engine runs many small graphs one after another, and threads of one
	// session spinning while the next session computes only steal its cores.
	Spin bool
}

// DefaultSessionConfig runs on the CPU with all cores and all graph optimisations.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{Provider: CPU, Threads: runtime.NumCPU(), OptLevel: OptAll}
}

// Session runs one ONNX graph. Inputs and outputs are named at construction and passed in
// that order. A Session is safe for concurrent Run calls (ONNX Runtime's guarantee).
type Session struct {
	s       *onnx.DynamicAdvancedSession
	inputs  []string
	outputs []string
}

// NewSession builds a session from serialized ONNX model bytes.
func NewSession(model []byte, inputs, outputs []string, cfg SessionConfig) (*Session, error) {
	if !onnx.IsInitialized() {
		if err := Init(""); err != nil {
			return nil, err
		}
	}
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("setting %d intra-op threads: %w", threads, err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("setting inter-op threads: %w", err)
	}
	if !cfg.Spin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("disabling thread spinning: %w", err)
		}
	}
	if cfg.NoArena {
		if err := opts.SetCpuMemArena(false); err != nil {
			return nil, fmt.Errorf("disabling the memory arena: %w", err)
		}
	}
	if err := opts.SetGraphOptimizationLevel(onnx.GraphOptimizationLevel(cfg.OptLevel)); err != nil {
		return nil, fmt.Errorf("setting graph optimisation level %d: %w", cfg.OptLevel, err)
	}
	switch cfg.Provider {
	case "", CPU:
	case CUDA:
		cuda, err := onnx.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("the loaded onnx runtime (%s) has no CUDA provider: %w; set ORT_LIB to a CUDA build", libPath, err)
		}
		defer cuda.Destroy()
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return nil, fmt.Errorf("the loaded onnx runtime (%s) cannot use CUDA: %w; set ORT_LIB to a CUDA build", libPath, err)
		}
	default:
		return nil, fmt.Errorf("unknown execution provider %q (want cpu or cuda)", cfg.Provider)
	}
	s, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("creating session: %w", err)
	}
	return &Session{s: s, inputs: append([]string(nil), inputs...), outputs: append([]string(nil), outputs...)}, nil
}

// Inputs returns the input names in call order.
func (s *Session) Inputs() []string { return s.inputs }

// Outputs returns the output names in call order.
func (s *Session) Outputs() []string { return s.outputs }

// Run executes the graph. inputs follow Inputs(). outputs follow Outputs(); an output slot may
// hold a preallocated tensor of the right shape (written in place, no copy) or be nil, in which
// case Run allocates it. The returned slice is outputs with the nil slots filled.
func (s *Session) Run(inputs []*Tensor, outputs []*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("session takes %d inputs %v, got %d", len(s.inputs), s.inputs, len(inputs))
	}
	if outputs == nil {
		outputs = make([]*Tensor, len(s.outputs))
	}
	if len(outputs) != len(s.outputs) {
		return nil, fmt.Errorf("session has %d outputs %v, got %d slots", len(s.outputs), s.outputs, len(outputs))
	}
	in := make([]onnx.Value, len(inputs))
	for i, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("input %q is nil", s.inputs[i])
		}
		v, err := t.value()
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", s.inputs[i], err)
		}
		defer v.Destroy()
		in[i] = v
	}
	out := make([]onnx.Value, len(outputs))
	for i, t := range outputs {
		if t == nil {
			continue
		}
		if len(t.Shape) == 0 {
			// onnxruntime_go keeps scalars in storage of its own, so a result would never
			// reach t; graphs return rank-1 tensors of one element instead.
			return nil, fmt.Errorf("output %q: rank-0 outputs are not supported; reshape it to [1]", s.outputs[i])
		}
		v, err := t.value()
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		defer v.Destroy()
		out[i] = v
	}
	if err := s.s.Run(in, out); err != nil {
		if strings.Contains(err.Error(), "shape has no dimensions") {
			return nil, fmt.Errorf("%w (a rank-0 output: graphs must return tensors of rank >= 1)", err)
		}
		return nil, err
	}
	result := make([]*Tensor, len(outputs))
	for i, t := range outputs {
		if t != nil {
			result[i] = t
			continue
		}
		got, err := fromValue(out[i])
		out[i].Destroy()
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		result[i] = got
	}
	return result, nil
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}
