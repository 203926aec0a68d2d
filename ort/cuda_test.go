package ort

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestCUDAMatchesCPU runs a chain of graphs with device-resident inputs and outputs on the
// CUDA plugin and on the CPU, and compares. It needs a GPU, the plugin (make setup-cuda) and
// the CUDA libraries on LD_LIBRARY_PATH, so it runs only with LTECLI_TEST_CUDA=1 (see
// scripts/gpu-check.sh); then a missing piece is a failure, not a skip.
func TestCUDAMatchesCPU(t *testing.T) {
	if os.Getenv("LTECLI_TEST_CUDA") != "1" {
		t.Skip("set LTECLI_TEST_CUDA=1 on a GPU machine")
	}
	gpu, err := OpenDevice(SessionConfig{Provider: CUDA})
	if err != nil {
		t.Fatal(err)
	}
	eps, err := EPDevices()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("onnx runtime %s (%s), devices %+v", Version(), LibraryPath(), eps)
	a, b, c := chainInputs()
	gotRes, gotProd := deviceChain(t, gpu, a, b, c)
	wantRes, wantProd := deviceChain(t, cpuDevice(t), a, b, c)
	// TF32 matmuls keep 10 mantissa bits: errors of about 1e-3 relative to the product's scale.
	if e := relMaxErr(gotProd.F32, wantProd.F32); e > 1e-2 {
		t.Errorf("matmul: CUDA vs CPU max error %.3g of the largest value", e)
	}
	if e := relMaxErr(gotRes.F32, wantRes.F32); e > 1e-2 {
		t.Errorf("softmax + add: CUDA vs CPU max error %.3g of the largest value", e)
	}
	checkValueCopies(t, gpu)
}

// relMaxErr is max |got - want| over max |want|.
func relMaxErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return diff / scale
}

// The sizes of the chain's matrices.
const chainM, chainK, chainN = 64, 128, 32

// chainInputs returns a [m, k], b [k, n] and c [m*n/2, 2] with standard normal entries.
func chainInputs() (a, b, c *Tensor) {
	const m, k, n = chainM, chainK, chainN
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(size int) []float32 {
		x := make([]float32, size)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	return F32Tensor(randn(m*k), m, k), F32Tensor(randn(k*n), k, n), F32Tensor(randn(m*n), m*n/2, 2)
}

// deviceChain computes softmax(reshape(a @ b, [m*n/2, 2]), -1) + c on d, every value staying
// on d (uploaded inputs, outputs allocated by ONNX Runtime and preallocated, reshaped views),
// and returns the result [m*n] and a @ b [m, n] read back.
func deviceChain(t *testing.T, d *Device, a, b, c *Tensor) (result, product *Tensor) {
	t.Helper()
	const m, k, n = chainM, chainK, chainN
	cfg := DefaultSessionConfig()
	cfg.Provider = d.Provider()
	cfg.NoCPUFallback = true // every node on the GPU, or session creation fails
	session := func(model []byte, inputs ...string) *Session {
		s, err := d.NewSession(model, inputs, []string{"y"}, cfg)
		if err != nil {
			t.Fatalf("%s: %v", d.Provider(), err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	matmul := session(opModel("MatMul", 1, []string{"a", "b"}, [][]string{{"m", "k"}, {"k", "n"}}, []string{"m", "n"}), "a", "b")
	softmax := session(opModel("Softmax", 1, []string{"x"}, [][]string{{"r", "c"}}, []string{"r", "c"}), "x")
	add := session(addModel(), "a", "b")
	upload := func(t0 *Tensor) *Value {
		v, err := d.Upload(t0)
		if err != nil {
			t.Fatalf("%s: %v", d.Provider(), err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	av, bv, cv := upload(a), upload(b), upload(c)
	back := Zeros(Float32, m, k)
	if err := av.CopyTo(back); err != nil || !equalTensor(back, a) {
		t.Fatalf("%s: upload round trip differs (%v)", d.Provider(), err)
	}
	prod, err := matmul.RunValues([]*Value{av, bv}, nil) // ONNX Runtime allocates on d
	if err != nil {
		t.Fatalf("%s matmul: %v", d.Provider(), err)
	}
	defer prod[0].Close()
	pairs, err := prod[0].Reshaped(m*n/2, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pairs.Close()
	soft, err := softmax.RunValues([]*Value{pairs}, nil)
	if err != nil {
		t.Fatalf("%s softmax: %v", d.Provider(), err)
	}
	defer soft[0].Close()
	flatSoft, err := soft[0].Reshaped(m * n)
	if err != nil {
		t.Fatal(err)
	}
	defer flatSoft.Close()
	flatC, err := cv.Reshaped(m * n)
	if err != nil {
		t.Fatal(err)
	}
	defer flatC.Close()
	out, err := d.Alloc(Float32, m*n) // preallocated output
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := add.RunValues([]*Value{flatSoft, flatC}, []*Value{out}); err != nil {
		t.Fatalf("%s add: %v", d.Provider(), err)
	}
	result, product = Zeros(Float32, m*n), Zeros(Float32, m, n)
	if err := out.CopyTo(result); err != nil {
		t.Fatal(err)
	}
	if err := prod[0].CopyTo(product); err != nil {
		t.Fatal(err)
	}
	// Host tensors through the same session give the same product.
	hostOut, err := matmul.Run([]*Tensor{a, b}, nil)
	if err != nil {
		t.Fatalf("%s matmul on host tensors: %v", d.Provider(), err)
	}
	if !equalTensor(hostOut[0], product) {
		t.Errorf("%s: Run and RunValues disagree", d.Provider())
	}
	return result, product
}

// TestDeviceChainOnCPU checks the chain the CUDA test compares against a plain-Go reference.
func TestDeviceChainOnCPU(t *testing.T) {
	a, b, c := chainInputs()
	got, prod := deviceChain(t, cpuDevice(t), a, b, c)
	const m, k, n = chainM, chainK, chainN
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += float64(a.F32[i*k+l]) * float64(b.F32[l*n+j])
			}
			want[i*n+j] = s
		}
	}
	for i := range want {
		if math.Abs(float64(prod.F32[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
			t.Fatalf("product[%d] = %v, want %v", i, prod.F32[i], want[i])
		}
	}
	for p := 0; p < m*n/2; p++ {
		x0, x1 := want[2*p], want[2*p+1]
		mx := math.Max(x0, x1)
		e0, e1 := math.Exp(x0-mx), math.Exp(x1-mx)
		for q, e := range []float64{e0, e1} {
			r := e/(e0+e1) + float64(c.F32[2*p+q])
			if math.Abs(float64(got.F32[2*p+q])-r) > 1e-4 {
				t.Fatalf("result[%d] = %v, want %v", 2*p+q, got.F32[2*p+q], r)
			}
		}
	}
}
