package weights

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// IndexName is the file naming the shards of a sharded checkpoint.
const IndexName = "model.safetensors.index.json"

// Checkpoint is the set of safetensors files of a model folder, single-file or sharded.
type Checkpoint struct {
	Dir   string
	Files []*File

	where map[string]*File
}

// OpenCheckpoint opens the safetensors files of a Hugging Face model folder: the shards named by
// model.safetensors.index.json when it exists, else model.safetensors, else every *.safetensors
// file. Each header is validated; a tensor stored twice is an error.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("model folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is not a directory", dir)
	}
	var paths []string
	if raw, err := os.ReadFile(filepath.Join(dir, IndexName)); err == nil {
		var index struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(raw, &index); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, IndexName), err)
		}
		if len(index.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: empty weight_map", filepath.Join(dir, IndexName))
		}
		seen := map[string]bool{}
		for _, shard := range index.WeightMap {
			if filepath.Base(shard) != shard {
				return nil, fmt.Errorf("%s: shard name %q must be a plain file name", IndexName, shard)
			}
			if !seen[shard] {
				seen[shard] = true
				paths = append(paths, filepath.Join(dir, shard))
			}
		}
		sort.Strings(paths)
		c, err := openFiles(dir, paths)
		if err != nil {
			return nil, err
		}
		for name, shard := range index.WeightMap {
			f, ok := c.where[name]
			if !ok {
				return nil, fmt.Errorf("%s: tensor %q is not in %s", IndexName, name, shard)
			}
			if filepath.Base(f.Path) != shard {
				return nil, fmt.Errorf("%s: tensor %q is in %s, not %s", IndexName, name, filepath.Base(f.Path), shard)
			}
		}
		return c, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return openFiles(dir, []string{single})
	}
	paths, _ = filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s has no model.safetensors, %s or *.safetensors", dir, IndexName)
	}
	sort.Strings(paths)
	return openFiles(dir, paths)
}

func openFiles(dir string, paths []string) (*Checkpoint, error) {
	c := &Checkpoint{Dir: dir, where: map[string]*File{}}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			return nil, err
		}
		for _, t := range f.Tensors {
			if other, dup := c.where[t.Name]; dup {
				return nil, fmt.Errorf("tensor %q is stored in both %s and %s", t.Name, other.Path, f.Path)
			}
			c.where[t.Name] = f
		}
		c.Files = append(c.Files, f)
	}
	return c, nil
}

// Tensors lists every tensor, file by file in data order.
func (c *Checkpoint) Tensors() []TensorInfo {
	var out []TensorInfo
	for _, f := range c.Files {
		out = append(out, f.Tensors...)
	}
	return out
}

// Info describes the named tensor.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	f, ok := c.where[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// ReadFloat32 converts the named float tensor into dst.
func (c *Checkpoint) ReadFloat32(name string, dst []float32) error {
	f, ok := c.where[name]
	if !ok {
		return fmt.Errorf("checkpoint %s has no tensor %q", c.Dir, name)
	}
	return f.ReadFloat32(name, dst)
}

// LoadStore reads the named tensors (all float tensors when names is nil) into a new store, in
// the given order (checkpoint order when names is nil), converting to fp32.
func (c *Checkpoint) LoadStore(names []string) (*Store, error) {
	if names == nil {
		for _, t := range c.Tensors() {
			if t.DType.IsFloat() {
				names = append(names, t.Name)
			}
		}
	}
	specs := make([]Spec, len(names))
	for i, n := range names {
		t, ok := c.Info(n)
		if !ok {
			return nil, fmt.Errorf("checkpoint %s has no tensor %q", c.Dir, n)
		}
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("checkpoint %s: tensor %q is %s, not a float type", c.Dir, n, t.DType)
		}
		specs[i] = Spec{Name: n, Shape: t.Shape}
	}
	s, err := NewStore(specs)
	if err != nil {
		return nil, err
	}
	for _, v := range s.Views {
		if err := c.ReadFloat32(v.Name, s.Slice(v)); err != nil {
			return nil, err
		}
	}
	return s, nil
}
