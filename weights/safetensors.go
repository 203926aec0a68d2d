package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unsafe"
)

// DType is a safetensors element type.
type DType string

// The element types this package reads. F16 and BF16 are converted to fp32 on read.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
)

// Size returns the bytes per element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	case I64:
		return 8
	}
	return 0
}

// IsFloat reports whether d converts to fp32.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 }

// maxHeaderLen bounds the JSON header (safetensors' own limit is 100 MB).
const maxHeaderLen = 100 << 20

// TensorInfo describes one tensor of a safetensors file: its byte range [Begin, End) is
// relative to the start of the data section.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64
	Begin int64
	End   int64
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ParseHeader decodes and validates a safetensors JSON header against the length of the data
// section that follows it. The tensors come back in data order. It never panics: any defect
// (bad JSON, unknown dtype, negative or overflowing shape, offsets outside the data, sizes that
// do not match shape and dtype, overlapping tensors) is an error.
func ParseHeader(header []byte, dataLen int64) ([]TensorInfo, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("header has data after its JSON object")
	}
	var meta map[string]string
	tensors := make([]TensorInfo, 0, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var entry struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets *[]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &entry); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if entry.DType == nil || entry.Shape == nil || entry.Offsets == nil {
			return nil, nil, fmt.Errorf("tensor %q: needs dtype, shape and data_offsets", name)
		}
		t := TensorInfo{Name: name, DType: DType(*entry.DType), Shape: *entry.Shape}
		size := int64(t.DType.Size())
		if size == 0 {
			return nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F32, F16, BF16, I64 or I32)", name, *entry.DType)
		}
		if len(*entry.Offsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end]", name)
		}
		t.Begin, t.End = (*entry.Offsets)[0], (*entry.Offsets)[1]
		if t.Begin < 0 || t.End < t.Begin || t.End > dataLen {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d data bytes (truncated file?)", name, t.Begin, t.End, dataLen)
		}
		n := int64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, t.Shape)
			}
			if d != 0 && n > math.MaxInt64/size/d {
				return nil, nil, fmt.Errorf("tensor %q: shape %v overflows", name, t.Shape)
			}
			n *= d
		}
		if n*size != t.End-t.Begin {
			return nil, nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", name, t.Shape, t.DType, n*size, t.End-t.Begin)
		}
		tensors = append(tensors, t)
	}
	sort.Slice(tensors, func(i, j int) bool {
		if tensors[i].Begin != tensors[j].Begin {
			return tensors[i].Begin < tensors[j].Begin
		}
		return tensors[i].Name < tensors[j].Name
	})
	for i := 1; i < len(tensors); i++ {
		if tensors[i].Begin < tensors[i-1].End {
			return nil, nil, fmt.Errorf("tensors %q and %q overlap", tensors[i-1].Name, tensors[i].Name)
		}
	}
	return tensors, meta, nil
}

// File is an opened safetensors file whose header has been validated. Tensor data are read on
// demand.
type File struct {
	Path     string
	Tensors  []TensorInfo // in data order
	Metadata map[string]string

	dataStart int64
	byName    map[string]int
}

// Open reads and validates the header of the safetensors file at path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("%s: too short for a safetensors file (%d bytes)", path, st.Size())
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderLen || int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("%s: header length %d does not fit in the %d-byte file (truncated or not safetensors)", path, n, st.Size())
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	dataStart := 8 + int64(n)
	tensors, meta, err := ParseHeader(header, st.Size()-dataStart)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := &File{Path: path, Tensors: tensors, Metadata: meta, dataStart: dataStart, byName: make(map[string]int, len(tensors))}
	for i, t := range tensors {
		out.byName[t.Name] = i
	}
	return out, nil
}

// Info returns the named tensor's description.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// ReadRaw returns the named tensor's bytes as stored.
func (f *File) ReadRaw(name string) ([]byte, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	buf := make([]byte, t.End-t.Begin)
	if _, err := fh.ReadAt(buf, f.dataStart+t.Begin); err != nil {
		return nil, fmt.Errorf("%s: reading %q: %w", f.Path, name, err)
	}
	return buf, nil
}

// ReadFloat32 converts the named float tensor into dst, which must have exactly its element
// count.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, ok := f.Info(name)
	if !ok {
		return fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("%s: tensor %q has %d elements, destination %d", f.Path, name, t.NumElements(), len(dst))
	}
	raw, err := f.ReadRaw(name)
	if err != nil {
		return err
	}
	if err := DecodeFloat32(dst, t.DType, raw); err != nil {
		return fmt.Errorf("%s: tensor %q: %w", f.Path, name, err)
	}
	return nil
}

// DecodeFloat32 converts little-endian raw data of type dtype into dst.
func DecodeFloat32(dst []float32, dtype DType, raw []byte) error {
	if len(raw) != len(dst)*dtype.Size() || !dtype.IsFloat() {
		return fmt.Errorf("cannot decode %d bytes of %s into %d fp32 values", len(raw), dtype, len(dst))
	}
	switch dtype {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case F16:
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	return nil
}

// DecodeInt64 converts little-endian I64 or I32 raw data into int64 values.
func DecodeInt64(dtype DType, raw []byte) ([]int64, error) {
	switch dtype {
	case I64:
		out := make([]int64, len(raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	case I32:
		out := make([]int64, len(raw)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not an integer type", dtype)
}

// HalfToFloat32 converts an IEEE 754 half-precision value to fp32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = frac * 2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Float32ToBF16 rounds an fp32 value to bfloat16 (round to nearest even; NaN stays NaN).
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// Float32ToHalf rounds an fp32 value to IEEE half precision (round to nearest even).
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 0x1f: // overflow or infinity
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		rounded := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && rounded&1 == 1) {
			rounded++
		}
		return sign | uint16(rounded)
	}
	rounded := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && rounded&1 == 1) {
		rounded++
	}
	return sign | uint16(rounded)
}

// Tensor is one tensor to write: its bytes are already in the stored dtype, little-endian.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte
}

// FromFloat32 makes a tensor stored as dtype (F32, F16 or BF16). For F32 the bytes share
// data's memory (no copy; the platform must be little-endian, as amd64 and arm64 are).
func FromFloat32(name string, shape []int64, data []float32, dtype DType) Tensor {
	t := Tensor{Name: name, DType: dtype, Shape: shape}
	switch dtype {
	case F32:
		if len(data) > 0 {
			t.Data = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
		} else {
			t.Data = []byte{}
		}
	case BF16:
		t.Data = make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToBF16(v))
		}
	case F16:
		t.Data = make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToHalf(v))
		}
	default:
		panic(fmt.Sprintf("weights.FromFloat32: %s is not a float type", dtype))
	}
	return t
}

// FromInt64 makes an I64 tensor.
func FromInt64(name string, shape []int64, data []int64) Tensor {
	t := Tensor{Name: name, DType: I64, Shape: shape, Data: make([]byte, 8*len(data))}
	for i, v := range data {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(v))
	}
	return t
}

// Float32 decodes a float tensor.
func (t Tensor) Float32() ([]float32, error) {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	out := make([]float32, n)
	if err := DecodeFloat32(out, t.DType, t.Data); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return out, nil
}

// Encode writes tensors (in the given order) and metadata in the safetensors format.
func Encode(w io.Writer, tensors []Tensor, meta map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var offset int64
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if seen[t.Name] || t.Name == "__metadata__" {
			return fmt.Errorf("tensor name %q is repeated or reserved", t.Name)
		}
		seen[t.Name] = true
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if n*int64(t.DType.Size()) != int64(len(t.Data)) {
			return fmt.Errorf("tensor %q: %d bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": shape, "data_offsets": []int64{offset, offset + int64(len(t.Data))}}
		offset += int64(len(t.Data))
	}
	js, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(js)%8 != 0 { // keep the data section 8-byte aligned, as the reference writer does
		js = append(js, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes a safetensors file atomically.
func WriteFile(path string, tensors []Tensor, meta map[string]string) error {
	return WriteAtomic(path, func(w io.Writer) error { return Encode(w, tensors, meta) })
}
