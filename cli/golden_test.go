package cli

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"ltecli/weights"
)

// goldenDir holds a tiny checkpoint, loss batches and their gradients computed by
// scripts/goldengrad: a float64 forward written apart from the ONNX graphs, the losses written
// again from their definitions, central finite differences over every parameter.
const goldenDir = "../testdata/golden"

var goldenVariants = []string{"token_mean_separate", "sum_norm_joint", "seq_mean_token_mean", "seq_mean_token_sum"}

// readGrad reads every tensor of a gradient file but loss, logp and entropy, and the loss.
func readGrad(t *testing.T, path string) (map[string][]float32, float64) {
	t.Helper()
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, info := range f.Tensors {
		switch info.Name {
		case "loss", "logp", "entropy":
			continue
		}
		buf := make([]float32, info.NumElements())
		if err := f.ReadFloat32(info.Name, buf); err != nil {
			t.Fatal(err)
		}
		out[info.Name] = buf
	}
	loss, err := strconv.ParseFloat(f.Metadata["loss"], 64)
	if err != nil {
		t.Fatalf("%s: loss metadata: %v", path, err)
	}
	return out, loss
}

// compareGrads fails when a tensor of got differs from want by more than tol times the
// largest magnitude of want's tensor, and returns the worst such relative error.
func compareGrads(t *testing.T, label string, got, want map[string][]float32, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d gradient tensors, want %d", label, len(got), len(want))
	}
	worst := 0.0
	for name, w := range want {
		g, ok := got[name]
		if !ok || len(g) != len(w) {
			t.Errorf("%s: tensor %s missing or of another size", label, name)
			continue
		}
		scale, diff := 0.0, 0.0
		for i := range w {
			scale = math.Max(scale, math.Abs(float64(w[i])))
			diff = math.Max(diff, math.Abs(float64(g[i])-float64(w[i])))
		}
		if scale == 0 {
			t.Errorf("%s: golden gradient of %s is all zero", label, name)
			continue
		}
		worst = math.Max(worst, diff/scale)
		if diff > tol*scale {
			t.Errorf("%s: %s differs by %.3g, %.3g of its largest entry %.3g (tolerance %g)", label, name, diff, diff/scale, scale, tol)
		}
	}
	return worst
}

// TestGradMatchesGolden checks `ltecli grad` (scoring, the loss, cotangent placement,
// score_vjp, the micro-batch sum) against the golden gradients, in one batch and in
// micro-batches of at most 14 padded tokens (one sequence each).
func TestGradMatchesGolden(t *testing.T) {
	for _, name := range goldenVariants {
		want, wantLoss := readGrad(t, filepath.Join(goldenDir, "grad_"+name+".safetensors"))
		f, _ := weights.Open(filepath.Join(goldenDir, "grad_"+name+".safetensors"))
		temp := f.Metadata["temperature"]
		var one map[string][]float32
		for _, micro := range []string{"0", "14", "20"} {
			out := filepath.Join(t.TempDir(), "grad.safetensors")
			code, _, errOut := capture(t, "", "grad", "--model", filepath.Join(goldenDir, "model"), "--batch", filepath.Join(goldenDir, "batch_"+name+".json"),
				"--out", out, "--temperature", temp, "--micro-tokens", micro)
			if code != 0 {
				t.Fatalf("%s: grad: %s", name, errOut)
			}
			got, loss := readGrad(t, out)
			label := fmt.Sprintf("%s, micro-tokens %s", name, micro)
			if math.Abs(loss-wantLoss) > 1e-5*math.Max(1, math.Abs(wantLoss)) {
				t.Errorf("%s: loss %.9g, golden %.9g", label, loss, wantLoss)
			}
			worst := compareGrads(t, label, got, want, 2e-5)
			t.Logf("%s: worst relative error %.3g", label, worst)
			if one == nil {
				one = got
			} else {
				compareGrads(t, label+" against one batch", got, one, 1e-5)
			}
		}
	}
}
