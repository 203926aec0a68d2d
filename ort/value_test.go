package ort

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func cpuDevice(t *testing.T) *Device {
	t.Helper()
	d, err := OpenDevice(DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeAll(vs ...*Value) {
	for _, v := range vs {
		v.Close()
	}
}

func TestOpenDeviceIsPerProvider(t *testing.T) {
	d := cpuDevice(t)
	if d.Provider() != CPU {
		t.Fatalf("provider %q", d.Provider())
	}
	again, err := OpenDevice(SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if again != d {
		t.Error("a second OpenDevice for the CPU made another Device")
	}
	if _, err := OpenDevice(SessionConfig{Provider: "tpu"}); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("unknown provider: %v", err)
	}
	eps, err := EPDevices()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range eps {
		found = found || (e.EP == cpuEPName && e.Hardware == "cpu")
	}
	if !found {
		t.Errorf("no CPU device among %+v", eps)
	}
}

// TestValueRoundTrips copies every dtype to the device and back, through a separate device
// buffer (Alloc) and through Upload.
func TestValueRoundTrips(t *testing.T) {
	d := cpuDevice(t)
	cases := []*Tensor{
		F32Tensor([]float32{1.5, -2, 3e-8, float32(math.Inf(1)), 5, 6}, 2, 3),
		F64Tensor([]float64{math.Pi, -1e300, 0, 7}, 4),
		I64Tensor([]int64{math.MaxInt64, -3, 0}, 3, 1),
		{DType: Int32, Shape: []int64{2}, I32: []int32{math.MinInt32, 9}},
		BoolTensor([]bool{true, false, true}, 3),
		F32Tensor([]float32{42}), // rank 0
		F32Tensor(nil, 0, 5),     // empty
	}
	for i, host := range cases {
		v, err := d.Alloc(host.DType, host.Shape...)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if v.DType() != host.DType || !slices.Equal(v.Shape(), host.Shape) {
			t.Errorf("case %d: value %v %v, want %v %v", i, v.DType(), v.Shape(), host.DType, host.Shape)
		}
		if err := v.CopyFrom(host); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		back := Zeros(host.DType, host.Shape...)
		if err := v.CopyTo(back); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !equalTensor(back, host) {
			t.Errorf("case %d: round trip gave %+v, want %+v", i, back, host)
		}
		up, err := d.Upload(host)
		if err != nil {
			t.Fatalf("case %d upload: %v", i, err)
		}
		back2 := Zeros(host.DType, host.Shape...)
		if err := up.CopyTo(back2); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !equalTensor(back2, host) {
			t.Errorf("case %d: upload round trip gave %+v, want %+v", i, back2, host)
		}
		closeAll(v, up)
	}
}

// TestUploadSharesOnCPU pins down the documented difference between Upload (shares memory on
// the CPU) and Alloc+CopyFrom (a copy).
func TestUploadSharesOnCPU(t *testing.T) {
	d := cpuDevice(t)
	host := F32Tensor([]float32{1, 2, 3}, 3)
	shared, err := d.Upload(host)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	copied, err := d.Alloc(Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if err := copied.CopyFrom(host); err != nil {
		t.Fatal(err)
	}
	host.F32[0] = 100
	if err := shared.CopyFrom(host); err != nil { // the same memory: nothing to copy
		t.Fatal(err)
	}
	got := Zeros(Float32, 3)
	if err := shared.CopyTo(got); err != nil {
		t.Fatal(err)
	}
	if got.F32[0] != 100 {
		t.Errorf("uploaded value does not share the tensor's memory: %v", got.F32)
	}
	if err := copied.CopyTo(got); err != nil {
		t.Fatal(err)
	}
	if got.F32[0] != 1 {
		t.Errorf("copied value changed with the host tensor: %v", got.F32)
	}
}

func TestRunValues(t *testing.T) {
	d := cpuDevice(t)
	s, err := d.NewSession(addModel(), []string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := d.Upload(F32Tensor([]float32{1, 2, 3, 4}, 4))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Alloc(Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(a, b)
	if err := b.CopyFrom(F32Tensor([]float32{0.5, -1, 10, 100}, 4)); err != nil {
		t.Fatal(err)
	}
	want := []float32{1.5, 1, 13, 104}

	// An output allocated by ONNX Runtime.
	out, err := s.RunValues([]*Value{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	y := out[0]
	if y.DType() != Float32 || !slices.Equal(y.Shape(), []int64{4}) || y.Device() != d {
		t.Fatalf("allocated output %v %v", y.DType(), y.Shape())
	}
	checkF32(t, "allocated output", y, want)

	// A preallocated output, written in place and returned as is.
	dst, err := d.Alloc(Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	out2, err := s.RunValues([]*Value{a, b}, []*Value{dst})
	if err != nil {
		t.Fatal(err)
	}
	if out2[0] != dst {
		t.Error("preallocated output slot not returned as given")
	}
	checkF32(t, "preallocated output", dst, want)

	// Feeding an output back in: y + y, into y's own memory.
	if _, err := s.RunValues([]*Value{y, y}, []*Value{dst}); err != nil {
		t.Fatal(err)
	}
	checkF32(t, "chained run", dst, []float32{3, 2, 26, 208})
	closeAll(y, dst)

	// Host-memory values of the CPU device mixed with Run's host tensors give the same.
	host, err := s.Run([]*Tensor{F32Tensor([]float32{1, 2, 3, 4}, 4), F32Tensor([]float32{0.5, -1, 10, 100}, 4)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !equalTensor(host[0], F32Tensor(want, 4)) {
		t.Errorf("Run gave %v, want %v", host[0].F32, want)
	}
}

// TestValuesSharedAcrossSessions runs two sessions on the same values, the second on the
// first's output: z = (a + b) * b.
func TestValuesSharedAcrossSessions(t *testing.T) {
	d := cpuDevice(t)
	add, err := d.NewSession(addModel(), []string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer add.Close()
	mul, err := d.NewSession(opModel("Mul", 1, []string{"a", "b"}, [][]string{{"n"}, {"n"}}, []string{"n"}), []string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer mul.Close()
	av, bv := []float32{1, -2, 3}, []float32{4, 5, -6}
	a, err := d.Upload(F32Tensor(av, 3))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Upload(F32Tensor(bv, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(a, b)
	sum, err := add.RunValues([]*Value{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sum[0].Close()
	prod, err := mul.RunValues([]*Value{sum[0], b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod[0].Close()
	want := make([]float32, 3)
	for i := range want {
		want[i] = (av[i] + bv[i]) * bv[i]
	}
	checkF32(t, "(a+b)*b", prod[0], want)
	// The inputs are untouched by either session.
	checkF32(t, "a after both runs", a, av)
}

// TestReshapedViews multiplies views of one buffer as matrices and writes a result through a
// view, checking against a plain-Go matrix product.
func TestReshapedViews(t *testing.T) {
	d := cpuDevice(t)
	matmul, err := d.NewSession(opModel("MatMul", 1, []string{"a", "b"}, [][]string{{"m", "k"}, {"k", "n"}}, []string{"m", "n"}),
		[]string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer matmul.Close()
	data := []float32{1, 2, 3, 4, 5, 6}
	flat, err := d.Alloc(Float32, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := flat.CopyFrom(F32Tensor(data, 6)); err != nil {
		t.Fatal(err)
	}
	a, err := flat.Reshaped(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := flat.Reshaped(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The parent may go first: the views keep the memory.
	flat.Close()
	out, err := d.Alloc(Float32, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	outFlat, err := out.Reshaped(4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := matmul.RunValues([]*Value{a, b}, []*Value{out}); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 4)
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			for k := 0; k < 3; k++ {
				want[i*2+j] += data[i*3+k] * data[k*2+j]
			}
		}
	}
	checkF32(t, "matmul read through a flat view", outFlat, want)
	// Writing through a view changes what the other views see.
	if err := a.CopyFrom(F32Tensor([]float32{0, 0, 0, 0, 0, 1}, 6)); err != nil {
		t.Fatal(err)
	}
	checkF32(t, "view after a write through another", b, []float32{0, 0, 0, 0, 0, 1})
	if _, err := a.Reshaped(4); err == nil {
		t.Error("reshape to another element count accepted")
	}
	closeAll(a, b, out, outFlat)
	if _, err := a.Reshaped(6); err == nil {
		t.Error("reshape of a closed value accepted")
	}
}

func TestValueErrors(t *testing.T) {
	d := cpuDevice(t)
	v, err := d.Alloc(Float32, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"wrong dtype in", v.CopyFrom(I64Tensor([]int64{1, 2, 3, 4}, 4)), "int64 tensor for a float32 value"},
		{"wrong size in", v.CopyFrom(F32Tensor([]float32{1, 2, 3}, 3)), "3 elements"},
		{"wrong size out", v.CopyTo(Zeros(Float32, 5)), "5 elements"},
		{"nil tensor", v.CopyFrom(nil), "nil tensor"},
		{"inconsistent tensor", v.CopyFrom(&Tensor{DType: Float32, Shape: []int64{4}, F32: []float32{1}}), "has 1 elements, want 4"},
		{"nil upload", func() error { _, err := d.Upload(nil); return err }(), "nil tensor"},
		{"negative alloc", func() error { _, err := d.Alloc(Float32, 2, -1); return err }(), "negative dimension"},
		{"bad dtype alloc", func() error { _, err := d.Alloc(DType(99), 2); return err }(), "unsupported dtype"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, c.err, c.want)
		}
	}
	s, err := d.NewSession(addModel(), []string{"a", "b"}, []string{"y"}, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	flat, err := v.Reshaped(4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunValues([]*Value{flat}, nil); err == nil || !strings.Contains(err.Error(), "2 inputs") {
		t.Errorf("wrong input count: %v", err)
	}
	if _, err := s.RunValues([]*Value{flat, nil}, nil); err == nil || !strings.Contains(err.Error(), `input "b"`) {
		t.Errorf("nil input: %v", err)
	}
	if _, err := s.RunValues([]*Value{flat, flat}, []*Value{nil, nil}); err == nil || !strings.Contains(err.Error(), "1 outputs") {
		t.Errorf("wrong output count: %v", err)
	}
	i64, err := d.Alloc(Int64, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunValues([]*Value{flat, i64}, nil); err == nil {
		t.Error("int64 value accepted by a float graph")
	}
	closeAll(v, flat, i64)
	if err := v.CopyTo(Zeros(Float32, 4)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("copy from a closed value: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.RunValues([]*Value{flat, flat}, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed input: %v", err)
	}
	s.Close()
	if _, err := s.RunValues(nil, nil); err == nil || !strings.Contains(err.Error(), "session is closed") {
		t.Errorf("closed session: %v", err)
	}
}

func TestCUDAPluginErrorsSayWhatToDo(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORT_CUDA_PLUGIN", "/nonexistent/"+CUDAPluginName)
	if _, err := OpenDevice(SessionConfig{Provider: CUDA}); err == nil || !strings.Contains(err.Error(), "ORT_CUDA_PLUGIN") {
		t.Errorf("missing plugin file: %v", err)
	}
	bogus := filepath.Join(t.TempDir(), CUDAPluginName)
	if err := os.WriteFile(bogus, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ORT_CUDA_PLUGIN", bogus)
	if _, err := OpenDevice(SessionConfig{Provider: CUDA}); err == nil || !strings.Contains(err.Error(), "registering the CUDA plugin") {
		t.Errorf("a file that is not a plugin: %v", err)
	}
}

func checkF32(t *testing.T, what string, v *Value, want []float32) {
	t.Helper()
	got := Zeros(Float32, int64(len(want)))
	if err := v.CopyTo(got); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for i := range want {
		if got.F32[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got.F32, want)
		}
	}
}

func equalTensor(a, b *Tensor) bool {
	if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		var eq bool
		switch a.DType {
		case Float32:
			eq = a.F32[i] == b.F32[i]
		case Float64:
			eq = a.F64[i] == b.F64[i]
		case Int64:
			eq = a.I64[i] == b.I64[i]
		case Int32:
			eq = a.I32[i] == b.I32[i]
		case Bool:
			eq = a.B[i] == b.B[i]
		}
		if !eq {
			return false
		}
	}
	return true
}

// TestCopyFromValue copies between values of the CPU device (the GPU check runs the same on
// CUDA, device to device and host to device).
func TestCopyFromValue(t *testing.T) {
	checkValueCopies(t, cpuDevice(t))
}

// checkValueCopies copies a value into another of device d, part of one into a view of
// another, and a CPU value into a value of d, and checks refusals of mismatched values.
func checkValueCopies(t *testing.T, d *Device) {
	t.Helper()
	src, err := d.Upload(F32Tensor([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := d.Zeros(Float32, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.CopyFromValue(src); err != nil {
		t.Fatal(err)
	}
	checkF32(t, "whole copy", dst, []float32{1, 2, 3, 4, 5, 6})
	part, err := src.View(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	into, err := dst.View(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := into.CopyFromValue(part); err != nil {
		t.Fatal(err)
	}
	checkF32(t, "view copy", dst, []float32{5, 6, 3, 4, 5, 6})
	host, err := cpuDevice(t).Upload(F32Tensor([]float32{9, 8}, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := into.CopyFromValue(host); err != nil {
		t.Fatal(err)
	}
	checkF32(t, "copy from the CPU", dst, []float32{9, 8, 3, 4, 5, 6})
	if err := dst.CopyFromValue(part); err == nil {
		t.Error("copy between values of different sizes accepted")
	}
	ints, err := d.Zeros(Int64, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := ints.CopyFromValue(src); err == nil {
		t.Error("copy between values of different dtypes accepted")
	}
	closeAll(src, dst, part, into, host, ints)
	if err := dst.CopyFromValue(src); err == nil {
		t.Error("copy between closed values accepted")
	}
}
