// Package ort is the project's only door to ONNX Runtime: it finds and loads the shared
// library, holds the one environment of the process, and runs sessions built from in-memory
// ONNX bytes, either with Go tensors in and out (Session.Run) or with Values that live in the
// memory of a Device (Session.RunValues): the CPU, or a CUDA GPU through ONNX Runtime's CUDA
// plugin execution provider. Both go through the same code (IoBinding) on every provider.
package ort

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

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
	if p := findInCaches("ort", LibraryName); p != "" {
		return p, nil
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
	// NoCPUFallback makes session creation fail when a node cannot run on the non-CPU
	// provider, instead of running it on the CPU (with copies to and from the device). The
	// CPU device ignores it.
	NoCPUFallback bool
	// ProviderOptions are passed to a non-CPU execution provider as its options (keys and
	// values as that provider documents them); the CPU ignores them.
	ProviderOptions map[string]string
}

// DefaultSessionConfig runs on the CPU with all cores and all graph optimisations.
func DefaultSessionConfig() SessionConfig {
	return SessionConfig{Provider: CPU, Threads: runtime.NumCPU(), OptLevel: OptAll}
}

// Session runs one ONNX graph on a Device. Inputs and outputs are named at construction and
// passed in that order. A Session is safe for concurrent Run and RunValues calls (ONNX
// Runtime's guarantee); Close must not overlap them.
type Session struct {
	dev      *Device
	ptr      unsafe.Pointer // OrtSession*
	inputs   []string
	outputs  []string
	inNames  []unsafe.Pointer // C strings of inputs
	outNames []unsafe.Pointer // C strings of outputs
}

// NewSession builds a session from serialized ONNX model bytes on the Device of cfg.Provider
// (OpenDevice). It is OpenDevice followed by Device.NewSession.
func NewSession(model []byte, inputs, outputs []string, cfg SessionConfig) (*Session, error) {
	d, err := OpenDevice(cfg)
	if err != nil {
		return nil, err
	}
	return d.NewSession(model, inputs, outputs, cfg)
}

// NewSession builds a session computing on d from serialized ONNX model bytes. cfg.Provider
// must be d's provider or empty; the other fields of cfg apply as for the package NewSession.
// On CUDA, nodes the GPU provider does not take run on the CPU provider.
func (d *Device) NewSession(model []byte, inputs, outputs []string, cfg SessionConfig) (*Session, error) {
	if cfg.Provider != "" && cfg.Provider != d.provider && !(cfg.Provider == CPU && d.provider == CPU) {
		return nil, fmt.Errorf("session for provider %q on the %s device", cfg.Provider, d.provider)
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var ep unsafe.Pointer
	if d.provider != CPU {
		ep = d.ep
	}
	ptr, err := createSession(model, cfg, threads, ep)
	if err != nil {
		return nil, fmt.Errorf("creating session on %s: %w", d.provider, err)
	}
	return &Session{
		dev: d, ptr: ptr,
		inputs: append([]string(nil), inputs...), outputs: append([]string(nil), outputs...),
		inNames: cStrings(inputs), outNames: cStrings(outputs),
	}, nil
}

// Device returns the device the session computes on.
func (s *Session) Device() *Device { return s.dev }

// Inputs returns the input names in call order.
func (s *Session) Inputs() []string { return s.inputs }

// Outputs returns the output names in call order.
func (s *Session) Outputs() []string { return s.outputs }

// Run executes the graph on Go tensors. inputs follow Inputs(). outputs follow Outputs(); an
// output slot may hold a preallocated tensor of the right shape (written in place) or be nil,
// in which case Run allocates it. The returned slice is outputs with the nil slots filled. On
// the CPU, tensors are passed without copies; on a GPU, ONNX Runtime copies them to and from
// the device in every call (use RunValues to keep them there).
func (s *Session) Run(inputs []*Tensor, outputs []*Tensor) ([]*Tensor, error) {
	if err := s.checkCounts(len(inputs), outputs == nil, len(outputs)); err != nil {
		return nil, err
	}
	if outputs == nil {
		outputs = make([]*Tensor, len(s.outputs))
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	in := make([]unsafe.Pointer, len(inputs))
	out := make([]unsafe.Pointer, len(outputs))
	defer func() {
		for _, v := range append(in, out...) {
			release(slotReleaseValue, v)
		}
	}()
	for i, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("input %q is nil", s.inputs[i])
		}
		v, err := hostValue(&pin, t, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", s.inputs[i], err)
		}
		in[i] = v
	}
	for i, t := range outputs {
		if t == nil {
			continue
		}
		v, err := hostValue(&pin, t, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		out[i] = v
	}
	got, err := runBound(s.ptr, s.inNames, s.outNames, in, out, capi.cpu)
	if err != nil {
		return nil, err
	}
	result := make([]*Tensor, len(outputs))
	var firstErr error
	for i, t := range outputs {
		if t != nil {
			result[i] = t
			continue
		}
		t, err := hostTensor(got[i])
		release(slotReleaseValue, got[i])
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		result[i] = t
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return result, nil
}

// RunValues executes the graph on Values. inputs follow Inputs() and may live on this
// session's device or in host memory (the CPU device's values); ONNX Runtime copies what is
// not where a node needs it. outputs follow Outputs(); a slot may hold a preallocated Value of
// the right type and shape (written in place) or be nil, in which case ONNX Runtime allocates
// the output in the device's memory. The returned slice is outputs with the nil slots filled;
// the caller closes the new Values. Values may be shared by several sessions of one Device.
func (s *Session) RunValues(inputs, outputs []*Value) ([]*Value, error) {
	if err := s.checkCounts(len(inputs), outputs == nil, len(outputs)); err != nil {
		return nil, err
	}
	if outputs == nil {
		outputs = make([]*Value, len(s.outputs))
	}
	in := make([]unsafe.Pointer, len(inputs))
	for i, v := range inputs {
		if v == nil || v.ptr == nil {
			return nil, fmt.Errorf("input %q is nil or closed", s.inputs[i])
		}
		in[i] = v.ptr
	}
	out := make([]unsafe.Pointer, len(outputs))
	for i, v := range outputs {
		if v == nil {
			continue
		}
		if v.ptr == nil {
			return nil, fmt.Errorf("output %q is closed", s.outputs[i])
		}
		out[i] = v.ptr
	}
	got, err := runBound(s.ptr, s.inNames, s.outNames, in, out, s.dev.mem)
	if err != nil {
		return nil, err
	}
	result := make([]*Value, len(outputs))
	var firstErr error
	for i, v := range outputs {
		if v != nil {
			result[i] = v
			continue
		}
		nv, err := ownedValue(s.dev, got[i])
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		result[i] = nv
	}
	if firstErr != nil {
		for i, v := range result {
			if outputs[i] == nil {
				v.Close()
			}
		}
		return nil, firstErr
	}
	return result, nil
}

func (s *Session) checkCounts(nIn int, outNil bool, nOut int) error {
	if s == nil || s.ptr == nil {
		return errors.New("session is closed")
	}
	if nIn != len(s.inputs) {
		return fmt.Errorf("session takes %d inputs %v, got %d", len(s.inputs), s.inputs, nIn)
	}
	if !outNil && nOut != len(s.outputs) {
		return fmt.Errorf("session has %d outputs %v, got %d slots", len(s.outputs), s.outputs, nOut)
	}
	return nil
}

// Close releases the session. Values it returned stay valid.
func (s *Session) Close() error {
	if s == nil || s.ptr == nil {
		return nil
	}
	release(slotReleaseSession, s.ptr)
	s.ptr = nil
	freeCStrings(s.inNames)
	freeCStrings(s.outNames)
	s.inNames, s.outNames = nil, nil
	return nil
}
