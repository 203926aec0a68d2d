package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func randFloats(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

func TestRoundTripDTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	data := randFloats(r, 6*5)
	for i, dt := range []DType{F32, BF16, F16} {
		path := filepath.Join(dir, string(dt)+".safetensors")
		if err := WriteFile(path, []Tensor{FromFloat32("w", []int64{6, 5}, data, dt), FromInt64("ids", []int64{3}, []int64{-1, 0, 1 << 40})}, map[string]string{"format": "pt"}); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		f, err := Open(path)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if f.Metadata["format"] != "pt" {
			t.Errorf("case %d: metadata %v", i, f.Metadata)
		}
		got := make([]float32, len(data))
		if err := f.ReadFloat32("w", got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		tol := map[DType]float64{F32: 0, BF16: 1.0 / 256, F16: 1.0 / 2048}[dt]
		for j := range data {
			if d := math.Abs(float64(got[j] - data[j])); d > tol*math.Abs(float64(data[j])) {
				t.Fatalf("case %d (%s): element %d = %g, want %g", i, dt, j, got[j], data[j])
			}
		}
		raw, err := f.ReadRaw("ids")
		if err != nil {
			t.Fatal(err)
		}
		ids, _ := DecodeInt64(I64, raw)
		if ids[0] != -1 || ids[2] != 1<<40 {
			t.Errorf("case %d: ids %v", i, ids)
		}
	}
}

func TestHalfConversionsExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if f != f {
			continue
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
	}
	cases := []struct {
		in   float32
		want uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {5.960464477539063e-08, 0x0001}, {1e-9, 0}}
	for i, c := range cases {
		if got := Float32ToHalf(c.in); got != c.want {
			t.Errorf("case %d: Float32ToHalf(%g) = %#04x, want %#04x", i, c.in, got, c.want)
		}
	}
	if Float32ToBF16(1.00390625) != 0x3f80 { // halfway rounds to even
		t.Errorf("bf16 round to even: %#04x", Float32ToBF16(1.00390625))
	}
	if Float32ToBF16(1.01171875) != 0x3f82 {
		t.Errorf("bf16 round up: %#04x", Float32ToBF16(1.01171875))
	}
}

func header(t *testing.T, js string, data int) []byte {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(js)))
	b.WriteString(js)
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestOpenRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := WriteFile(good, []Tensor{FromFloat32("a", []int64{4}, []float32{1, 2, 3, 4}, F32), FromFloat32("b", []int64{2, 2}, []float32{1, 2, 3, 4}, F32)}, nil); err != nil {
		t.Fatal(err)
	}
	whole, _ := os.ReadFile(good)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"truncated data", whole[:len(whole)-3], "outside"},
		{"truncated header", whole[:20], "does not fit"},
		{"not json", header(t, "{nope", 0), "JSON"},
		{"unknown dtype", header(t, `{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, 1), "unsupported dtype"},
		{"size mismatch", header(t, `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), "needs 8 bytes"},
		{"overlap", header(t, `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlap"},
		{"negative dim", header(t, `{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 0), "negative"},
		{"overflow", header(t, `{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, 0), "overflows"},
		{"missing field", header(t, `{"a":{"dtype":"F32","shape":[1]}}`, 4), "needs dtype"},
		{"bad offsets", header(t, `{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, 8), "outside"},
		{"huge header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, whole[8:]...), "does not fit"},
	}
	for i, c := range cases {
		path := filepath.Join(dir, c.name+".safetensors")
		os.WriteFile(path, c.file, 0o644)
		_, err := Open(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("case %d (%s): error %v, want one naming the file and containing %q", i, c.name, err, c.want)
		}
	}
}

func TestShardedCheckpointAndStore(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	a, b, c := randFloats(r, 6), randFloats(r, 4), randFloats(r, 3)
	if err := WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{FromFloat32("a", []int64{2, 3}, a, BF16), FromFloat32("c", []int64{3}, c, F32)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{FromFloat32("b", []int64{4}, b, F16)}, nil); err != nil {
		t.Fatal(err)
	}
	index := `{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, IndexName), []byte(index), 0o644)
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ck.LoadStore([]string{"c", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Data) != 13 || st.Views[1].Offset != 3 || st.Views[2].Offset != 9 {
		t.Fatalf("layout %+v", st.Views)
	}
	for i, v := range c {
		if st.Tensor("c")[i] != v {
			t.Fatalf("c[%d] = %g, want %g", i, st.Tensor("c")[i], v)
		}
	}
	out := filepath.Join(dir, "saved", "model.safetensors")
	if err := st.Save(out, nil); err != nil {
		t.Fatal(err)
	}
	ck2, err := OpenCheckpoint(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ck2.LoadStore([]string{"c", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.Data {
		if st.Data[i] != st2.Data[i] {
			t.Fatalf("reloaded element %d differs", i)
		}
	}
	os.WriteFile(filepath.Join(dir, IndexName), []byte(`{"weight_map":{"a":"model-00002-of-00002.safetensors"}}`), 0o644)
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("index naming the wrong shard: error %v", err)
	}
	if _, err := OpenCheckpoint(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing folder accepted")
	}
}

func TestContainerRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.safetensors.zst")
	m := []float32{1, 2, 3, 4, 5, 6}
	if err := WriteContainer(path, []Tensor{FromFloat32("m", []int64{2, 3}, m, F32), FromInt64("step", []int64{1}, []int64{7})}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := ReadContainer(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" || len(ts) != 2 {
		t.Fatalf("meta %v, %d tensors", meta, len(ts))
	}
	got, err := ts[0].Float32()
	if err != nil || got[5] != 6 {
		t.Fatalf("m = %v, %v", got, err)
	}
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)/2], 0o644)
	if _, _, err := ReadContainer(path); err == nil {
		t.Error("truncated container accepted")
	}
}

func TestWriteAtomicKeepsOldOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	os.WriteFile(path, []byte("old"), 0o644)
	err := WriteAtomic(path, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("failure not reported")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("file holds %q after a failed write", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary file left behind: %d entries", len(entries))
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[0,6]}}`), int64(6))
	f.Add([]byte(`{"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[0],"data_offsets":[8,8]}}`), int64(8))
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`), int64(0))
	f.Fuzz(func(t *testing.T, header []byte, dataLen int64) {
		tensors, _, err := ParseHeader(header, dataLen)
		if err != nil {
			return
		}
		var prevEnd int64
		for _, ti := range tensors {
			if ti.Begin < prevEnd || ti.End > dataLen || ti.End-ti.Begin != ti.NumElements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted invalid tensor %+v (data %d)", ti, dataLen)
			}
			prevEnd = ti.End
		}
	})
}
