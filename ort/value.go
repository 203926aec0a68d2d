package ort

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// A Value is a tensor that ONNX Runtime holds in the memory of a Device (Device.Upload,
// Device.Alloc, or an output of Session.RunValues). It stays there between runs: bind it to
// any number of sessions of the same Device without copies. Go reads and writes its contents
// only through CopyTo and CopyFrom. Reshaped gives views over the same memory. A Value is
// released by Close; until then the memory is held. Values are not safe for concurrent Close.
type Value struct {
	ptr   unsafe.Pointer // OrtValue*; nil once closed
	dtype DType
	shape []int64
	dev   *Device
	buf   *buffer
	off   int // byte offset of the first element in buf (views made by View)
}

// buffer is the memory under a Value and its views; it is freed when the last one closes.
type buffer struct {
	mu    sync.Mutex
	refs  int
	owner unsafe.Pointer  // the OrtValue that owns (or, for shared Go memory, wraps) the memory
	data  unsafe.Pointer  // first element; nil for an empty tensor
	bytes int             // size of the memory
	pin   *runtime.Pinner // Go memory shared with ONNX Runtime (CPU Upload), else nil
}

func (b *buffer) drop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs--
	if b.refs > 0 {
		return
	}
	release(slotReleaseValue, b.owner)
	b.owner = nil
	if b.pin != nil {
		b.pin.Unpin()
		b.pin = nil
	}
}

// newBuffer takes ownership of OrtValue v and reads where its memory is.
func newBuffer(v unsafe.Pointer, dt DType, shape []int64) (*buffer, error) {
	data, err := tensorData(v)
	if err != nil {
		return nil, err
	}
	return &buffer{refs: 1, owner: v, data: data, bytes: NumElements(shape) * dt.elemSize()}, nil
}

// ownedValue wraps an OrtValue allocated by ONNX Runtime on d; it releases v on error.
func ownedValue(d *Device, v unsafe.Pointer) (*Value, error) {
	if v == nil {
		return nil, errors.New("onnx runtime returned no value")
	}
	dt, shape, err := tensorInfo(v)
	if err != nil {
		release(slotReleaseValue, v)
		return nil, err
	}
	buf, err := newBuffer(v, dt, shape)
	if err != nil {
		release(slotReleaseValue, v)
		return nil, err
	}
	return &Value{ptr: v, dtype: dt, shape: shape, dev: d, buf: buf}, nil
}

// Upload puts t on the device. On a GPU it copies t into new device memory (t may change
// afterwards). On the CPU it copies nothing: the Value shares t's memory, which stays pinned
// until the Value and its views are closed, so a later change to t's data is seen by the
// Value (and writes into the Value, as a session output, change t); CopyFrom(t) with the same
// tensor is then a no-op. Code meant for both keeps t unchanged while the Value is in use or
// calls CopyFrom after changing it. Use Alloc and CopyFrom for a separate copy on the CPU too.
func (d *Device) Upload(t *Tensor) (*Value, error) {
	if t == nil {
		return nil, errors.New("upload of a nil tensor")
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if d.provider != CPU || t.Len() == 0 {
		v, err := d.Alloc(t.DType, t.Shape...)
		if err != nil {
			return nil, err
		}
		if err := v.CopyFrom(t); err != nil {
			v.Close()
			return nil, err
		}
		return v, nil
	}
	pin := new(runtime.Pinner)
	ptr, err := hostValue(pin, t, t.Shape)
	if err != nil {
		pin.Unpin()
		return nil, fmt.Errorf("upload: %w", err)
	}
	data, bytes := t.data()
	shape := append([]int64(nil), t.Shape...)
	return &Value{ptr: ptr, dtype: t.DType, shape: shape, dev: d,
		buf: &buffer{refs: 1, owner: ptr, data: data, bytes: bytes, pin: pin}}, nil
}

// Alloc makes a Value of the given type and shape in the device's memory. Its contents are
// uninitialised (fill it with CopyFrom, or use it as a session output); Zeros gives zeros.
func (d *Device) Alloc(dt DType, shape ...int64) (*Value, error) {
	if dt.elemSize() == 0 {
		return nil, fmt.Errorf("alloc: unsupported dtype %v", dt)
	}
	for _, n := range shape {
		if n < 0 {
			return nil, fmt.Errorf("alloc: negative dimension in shape %v", shape)
		}
	}
	shape = append([]int64(nil), shape...)
	v, err := newTensor(d.alloc, dt, shape)
	if err != nil {
		return nil, fmt.Errorf("allocating %v %v on %s: %w", dt, shape, d.provider, err)
	}
	buf, err := newBuffer(v, dt, shape)
	if err != nil {
		release(slotReleaseValue, v)
		return nil, fmt.Errorf("allocating %v %v on %s: %w", dt, shape, d.provider, err)
	}
	return &Value{ptr: v, dtype: dt, shape: shape, dev: d, buf: buf}, nil
}

// Zeros makes a Value of the given type and shape filled with zeros (Alloc, then a copy from
// a zero host tensor).
func (d *Device) Zeros(dt DType, shape ...int64) (*Value, error) {
	v, err := d.Alloc(dt, shape...)
	if err != nil {
		return nil, err
	}
	if err := v.CopyFrom(Zeros(dt, shape...)); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// Shape returns the value's shape (do not modify it).
func (v *Value) Shape() []int64 { return v.shape }

// DType returns the value's element type.
func (v *Value) DType() DType { return v.dtype }

// Device returns the device whose memory holds the value.
func (v *Value) Device() *Device { return v.dev }

// NumElements is the product of the value's shape.
func (v *Value) NumElements() int { return NumElements(v.shape) }

// check tells whether t can be copied to or from v.
func (v *Value) check(op string, t *Tensor) error {
	if v == nil || v.ptr == nil {
		return fmt.Errorf("%s: the value is nil or closed", op)
	}
	if t == nil {
		return fmt.Errorf("%s: nil tensor", op)
	}
	if err := t.check(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if t.DType != v.dtype {
		return fmt.Errorf("%s: %v tensor for a %v value", op, t.DType, v.dtype)
	}
	if t.Len() != v.NumElements() {
		return fmt.Errorf("%s: tensor of shape %v (%d elements) for a value of shape %v (%d elements)", op, t.Shape, t.Len(), v.shape, v.NumElements())
	}
	return nil
}

// CopyFrom writes t's data into v. t must have v's dtype and number of elements (its shape
// may differ). The copy is complete when CopyFrom returns.
func (v *Value) CopyFrom(t *Tensor) error {
	if err := v.check("copy to the device", t); err != nil {
		return err
	}
	return v.transfer(t, true)
}

// CopyTo writes v's data into t. t must have v's dtype and number of elements (its shape may
// differ and is left as it is). The copy is complete when CopyTo returns.
func (v *Value) CopyTo(t *Tensor) error {
	if err := v.check("copy from the device", t); err != nil {
		return err
	}
	return v.transfer(t, false)
}

// CopyFromValue writes src's data into v: values of one device (or the CPU and a device), of
// the same dtype and number of elements. The copy is complete when it returns.
func (v *Value) CopyFromValue(src *Value) error {
	switch {
	case v == nil || v.ptr == nil || src == nil || src.ptr == nil:
		return errors.New("copy between values: a value is nil or closed")
	case v.dtype != src.dtype || v.NumElements() != src.NumElements():
		return fmt.Errorf("copy of a %v %v value into a %v %v one", src.dtype, src.shape, v.dtype, v.shape)
	case v.data() == src.data():
		return nil
	case v.dev.provider == CPU && src.dev.provider == CPU:
		// Host memory on both sides: ONNX Runtime registers no copy for it.
		copyBytes(v.data(), src.data(), v.NumElements()*v.dtype.elemSize())
		return nil
	}
	if err := copyTensor(src.ptr, v.ptr); err != nil {
		return fmt.Errorf("copying %v %v from %s to %s: %w", v.dtype, v.shape, src.dev.provider, v.dev.provider, err)
	}
	return nil
}

// copyBytes copies n bytes of host memory from src to dst.
func copyBytes(dst, src unsafe.Pointer, n int) {
	copy(unsafe.Slice((*byte)(dst), n), unsafe.Slice((*byte)(src), n))
}

// transfer copies between v and t's memory, in the direction toValue says.
func (v *Value) transfer(t *Tensor, toValue bool) error {
	data, _ := t.data()
	if data == nil || data == v.data() {
		return nil // empty, or t's memory is the value's (CPU Upload)
	}
	if v.dev.provider == CPU {
		// Both sides are host memory, for which ONNX Runtime registers no copy (CopyTensors
		// serves execution-provider devices).
		n := v.NumElements() * v.dtype.elemSize()
		if toValue {
			copyBytes(v.data(), data, n)
		} else {
			copyBytes(data, v.data(), n)
		}
		return nil
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	host, err := hostValue(&pin, t, v.shape)
	if err != nil {
		return err
	}
	defer release(slotReleaseValue, host)
	if toValue {
		err = copyTensor(host, v.ptr)
	} else {
		err = copyTensor(v.ptr, host)
	}
	if err != nil {
		return fmt.Errorf("copying %v %v between host and %s: %w", v.dtype, v.shape, v.dev.provider, err)
	}
	return nil
}

// Reshaped returns a view of v with another shape of the same number of elements: the same
// memory, no copy. Writes through either are seen by both. The memory is freed when v and all
// its views are closed, in any order.
func (v *Value) Reshaped(shape ...int64) (*Value, error) {
	if v == nil || v.ptr == nil {
		return nil, errors.New("reshape: the value is nil or closed")
	}
	for _, n := range shape {
		if n < 0 {
			return nil, fmt.Errorf("reshape: negative dimension in shape %v", shape)
		}
	}
	if NumElements(shape) != v.NumElements() {
		return nil, fmt.Errorf("reshape of %v (%d elements) to %v (%d elements)", v.shape, v.NumElements(), shape, NumElements(shape))
	}
	mem, err := tensorMemory(v.ptr)
	if err != nil {
		return nil, fmt.Errorf("reshape: %w", err)
	}
	shape = append([]int64(nil), shape...)
	ptr, err := wrapTensor(mem, v.data(), v.NumElements()*v.dtype.elemSize(), v.dtype, shape)
	if err != nil {
		return nil, fmt.Errorf("reshape of %v to %v: %w", v.shape, shape, err)
	}
	v.buf.mu.Lock()
	v.buf.refs++
	v.buf.mu.Unlock()
	return &Value{ptr: ptr, dtype: v.dtype, shape: shape, dev: v.dev, buf: v.buf, off: v.off}, nil
}

// View returns a view of the elements offset .. offset+n-1 of v (in row-major order), where n
// is the product of shape: the same memory, no copy, like Reshaped. It lets a session read
// or write part of a larger value (a parameter of a flat buffer, rows of a batch).
func (v *Value) View(offset int, shape ...int64) (*Value, error) {
	if v == nil || v.ptr == nil {
		return nil, errors.New("view: the value is nil or closed")
	}
	for _, n := range shape {
		if n < 0 {
			return nil, fmt.Errorf("view: negative dimension in shape %v", shape)
		}
	}
	n := NumElements(shape)
	if offset < 0 || offset+n > v.NumElements() {
		return nil, fmt.Errorf("view of elements %d..%d of a value of %d", offset, offset+n, v.NumElements())
	}
	mem, err := tensorMemory(v.ptr)
	if err != nil {
		return nil, fmt.Errorf("view: %w", err)
	}
	off := v.off + offset*v.dtype.elemSize()
	shape = append([]int64(nil), shape...)
	ptr, err := wrapTensor(mem, unsafe.Add(v.buf.data, off), n*v.dtype.elemSize(), v.dtype, shape)
	if err != nil {
		return nil, fmt.Errorf("view of %v at %d as %v: %w", v.shape, offset, shape, err)
	}
	v.buf.mu.Lock()
	v.buf.refs++
	v.buf.mu.Unlock()
	return &Value{ptr: ptr, dtype: v.dtype, shape: shape, dev: v.dev, buf: v.buf, off: off}, nil
}

// data returns the address of v's first element.
func (v *Value) data() unsafe.Pointer {
	if v.buf.data == nil {
		return nil
	}
	return unsafe.Add(v.buf.data, v.off)
}

// Host returns v's contents as a Go tensor sharing its memory (no copy) when v lives in CPU
// memory, and nil for device memory (use CopyTo). The tensor is valid until v and all its
// views are closed; writes through it are writes to v.
func (v *Value) Host() *Tensor {
	if v == nil || v.ptr == nil || v.dev.provider != CPU {
		return nil
	}
	n := v.NumElements()
	t := &Tensor{DType: v.dtype, Shape: append([]int64(nil), v.shape...)}
	p := v.data()
	if n == 0 || p == nil {
		return Zeros(v.dtype, v.shape...)
	}
	switch v.dtype {
	case Float32:
		t.F32 = unsafe.Slice((*float32)(p), n)
	case Float64:
		t.F64 = unsafe.Slice((*float64)(p), n)
	case Int64:
		t.I64 = unsafe.Slice((*int64)(p), n)
	case Int32:
		t.I32 = unsafe.Slice((*int32)(p), n)
	case Bool:
		t.B = unsafe.Slice((*bool)(p), n)
	default:
		return nil
	}
	return t
}

// Close releases v. The memory goes when the last of v and its views is closed. Closing
// twice, or a nil Value, does nothing.
func (v *Value) Close() error {
	if v == nil || v.ptr == nil {
		return nil
	}
	if v.ptr != v.buf.owner {
		release(slotReleaseValue, v.ptr)
	}
	v.ptr = nil
	v.buf.drop()
	return nil
}

// hostValue wraps t's memory, pinned with pin, as an OrtValue of the given shape in CPU
// memory. The caller releases it before unpinning.
func hostValue(pin *runtime.Pinner, t *Tensor, shape []int64) (unsafe.Pointer, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	data, bytes := t.data()
	if data != nil {
		pin.Pin(data)
	}
	return wrapTensor(capi.cpu, data, bytes, t.DType, shape)
}

// hostTensor copies an OrtValue in CPU memory into a new Go tensor.
func hostTensor(v unsafe.Pointer) (*Tensor, error) {
	dt, shape, err := tensorInfo(v)
	if err != nil {
		return nil, err
	}
	t := Zeros(dt, shape...)
	data, bytes := t.data()
	if bytes == 0 {
		return t, nil
	}
	src, err := tensorData(v)
	if err != nil {
		return nil, err
	}
	copy(unsafe.Slice((*byte)(data), bytes), unsafe.Slice((*byte)(src), bytes))
	return t, nil
}
