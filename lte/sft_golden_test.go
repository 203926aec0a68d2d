package lte

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"ltecli/model/qwen3"
	"ltecli/weights"
)

// TestSFTGradientMatchesGolden checks the SFT gradient (mean negative log-likelihood of the
// response tokens through score_vjp), in one batch and in micro-batches, against the gradient
// scripts/goldengrad computed by finite differences of a float64 forward.
func TestSFTGradientMatchesGolden(t *testing.T) {
	dir := filepath.Join("..", "testdata", "golden")
	m, err := qwen3.Load(filepath.Join(dir, "model"), qwen3.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b, err := ReadBatchFile(filepath.Join(dir, "batch_token_mean_separate.json"), m.Config.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	seqs := b.TrainSeqs()
	tokens := 0
	for _, s := range seqs {
		tokens += s.ResponseLen()
	}
	f, err := weights.Open(filepath.Join(dir, "grad_sft.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, _ := strconv.ParseFloat(f.Metadata["loss"], 64)
	for _, micro := range []int{0, 14} {
		s := &SFT{Model: m, Config: SFTConfig{MicroTokens: micro}}
		grads := m.Params.ZerosLike()
		loss, err := s.gradient(seqs, tokens, grads)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(loss-wantLoss) > 1e-5*math.Abs(wantLoss) {
			t.Errorf("micro-tokens %d: loss %.9g, golden %.9g", micro, loss, wantLoss)
		}
		for _, v := range grads.Views {
			want := make([]float32, v.Size)
			if err := f.ReadFloat32(v.Name, want); err != nil {
				t.Fatal(err)
			}
			scale, diff := 0.0, 0.0
			for i, g := range grads.Slice(v) {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				diff = math.Max(diff, math.Abs(float64(g)-float64(want[i])))
			}
			if scale == 0 || diff > 2e-5*scale {
				t.Errorf("micro-tokens %d: %s differs by %.3g with largest golden entry %.3g", micro, v.Name, diff, scale)
			}
		}
	}
}
