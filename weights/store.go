package weights

import (
	"fmt"
	"io"
	"slices"
)

// View is one named tensor inside a Store's flat buffer: Data[Offset : Offset+Size].
type View struct {
	Name   string
	Shape  []int64
	Offset int
	Size   int
}

// Store holds many fp32 tensors in one contiguous buffer, a view per tensor, in a fixed order.
// Graphs read parameters from views of Data (zero-copy) and optimizers update Data in place.
type Store struct {
	Data  []float32
	Views []View

	byName map[string]int
	gen    uint64
}

// Touch records that Data changed. Copies of the store kept elsewhere (parameters resident on
// a GPU) compare Generation to know they are stale: code that writes Data calls Touch after.
func (s *Store) Touch() { s.gen++ }

// Generation counts the Touch calls.
func (s *Store) Generation() uint64 { return s.gen }

// Spec names a tensor and its shape, for NewStore.
type Spec struct {
	Name  string
	Shape []int64
}

// NewStore allocates a zeroed store with one view per spec, in order. Names must be unique.
func NewStore(specs []Spec) (*Store, error) {
	s := &Store{Views: make([]View, len(specs)), byName: make(map[string]int, len(specs))}
	total := 0
	for i, sp := range specs {
		if _, dup := s.byName[sp.Name]; dup {
			return nil, fmt.Errorf("tensor %q appears twice", sp.Name)
		}
		n := 1
		for _, d := range sp.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in %v", sp.Name, sp.Shape)
			}
			n *= int(d)
		}
		s.Views[i] = View{Name: sp.Name, Shape: append([]int64(nil), sp.Shape...), Offset: total, Size: n}
		s.byName[sp.Name] = i
		total += n
	}
	s.Data = make([]float32, total)
	return s, nil
}

// Specs returns the layout of s, for building a store of the same shape.
func (s *Store) Specs() []Spec {
	out := make([]Spec, len(s.Views))
	for i, v := range s.Views {
		out[i] = Spec{Name: v.Name, Shape: v.Shape}
	}
	return out
}

// ZerosLike returns a zeroed store with s's layout.
func (s *Store) ZerosLike() *Store {
	out, err := NewStore(s.Specs())
	if err != nil {
		panic(err) // s's layout is valid by construction
	}
	return out
}

// Clone returns a deep copy of s.
func (s *Store) Clone() *Store {
	out := s.ZerosLike()
	copy(out.Data, s.Data)
	return out
}

// Lookup returns the named view.
func (s *Store) Lookup(name string) (View, bool) {
	i, ok := s.byName[name]
	if !ok {
		return View{}, false
	}
	return s.Views[i], true
}

// Tensor returns the named tensor's data (a slice of Data), or nil if there is none.
func (s *Store) Tensor(name string) []float32 {
	v, ok := s.Lookup(name)
	if !ok {
		return nil
	}
	return s.Data[v.Offset : v.Offset+v.Size : v.Offset+v.Size]
}

// Slice returns view v's data.
func (s *Store) Slice(v View) []float32 { return s.Data[v.Offset : v.Offset+v.Size : v.Offset+v.Size] }

// Tensors returns every view as an F32 safetensors tensor sharing s's memory.
func (s *Store) Tensors() []Tensor {
	out := make([]Tensor, len(s.Views))
	for i, v := range s.Views {
		out[i] = FromFloat32(v.Name, v.Shape, s.Slice(v), F32)
	}
	return out
}

// Save writes s as an fp32 safetensors file, atomically.
func (s *Store) Save(path string, meta map[string]string) error {
	return WriteFile(path, s.Tensors(), meta)
}

// Encode writes s in the safetensors format.
func (s *Store) Encode(w io.Writer, meta map[string]string) error {
	return Encode(w, s.Tensors(), meta)
}

// LoadFrom fills every view of s from tensors of the same names and shapes.
func (s *Store) LoadFrom(tensors []Tensor) error {
	byName := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	for _, v := range s.Views {
		t, ok := byName[v.Name]
		if !ok {
			return fmt.Errorf("no tensor %q", v.Name)
		}
		if !slices.Equal(t.Shape, v.Shape) {
			return fmt.Errorf("tensor %q has shape %v, want %v", v.Name, t.Shape, v.Shape)
		}
		if err := DecodeFloat32(s.Slice(v), t.DType, t.Data); err != nil {
			return fmt.Errorf("tensor %q: %w", v.Name, err)
		}
	}
	s.Touch()
	return nil
}
