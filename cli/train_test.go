package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/lte"
	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
	"ltecli/model/tokenizer"
	"ltecli/weights"
)

func tinyModelDir(t *testing.T, tied bool, dtype weights.DType) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if _, err := qwen3test.Write(dir, qwen3test.Config(tied), 5, 0.3, dtype); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGenerateGreedyMatchesReference(t *testing.T) {
	for _, tied := range []bool{true, false} {
		dir := tinyModelDir(t, tied, weights.BF16)
		code, out, errOut := capture(t, "", "generate", "--model", dir, "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "8", "--json", "--n", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 JSON lines, got %q", out)
		}
		var got struct {
			Text         string `json:"text"`
			IDs          []int  `json:"ids"`
			FinishReason string `json:"finish_reason"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
			t.Fatal(err)
		}
		m, err := qwen3.Load(dir, qwen3.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ref := qwen3.NewReference(m.Config, m.Params)
		tok, _ := tokenizer.Load(dir)
		seq := tok.Encode("Hello there")
		for k, id := range got.IDs {
			logits := ref.Logits(seq)
			last := logits[len(logits)-1]
			best := 0
			for j := range last {
				if last[j] > last[best] {
					best = j
				}
			}
			if id != best {
				t.Fatalf("tied %v: token %d is %d, reference %d", tied, k, id, best)
			}
			seq = append(seq, id)
		}
		if got.FinishReason == "length" && len(got.IDs) != 8 {
			t.Fatalf("finish %s with %d ids", got.FinishReason, len(got.IDs))
		}
	}
}

func writeBatch(t *testing.T, path string) {
	t.Helper()
	b := `{"sequences": [[72,101,108,108,111,32,119,258], [1,2,3,4,5]], "prompt_lens": [4, 2], "advantages": [1, -1],
	"off_policy": [false, true], "loss": {"clip_low": 0.2, "clip_high": 0.2, "dual_clip": null, "kl_coef": 0, "kl": "k1",
	"entropy_coef": 0.01, "agg": "token-mean", "max_response_len": 8, "gamma": 0.1, "off_policy_denominator": false}}`
	os.WriteFile(path, []byte(b), 0o644)
}

func TestGradAndStep(t *testing.T) {
	dir := tinyModelDir(t, true, weights.F32)
	batch := filepath.Join(t.TempDir(), "batch.json")
	writeBatch(t, batch)
	out := filepath.Join(t.TempDir(), "grad.safetensors")
	if code, _, errOut := capture(t, "", "grad", "--model", dir, "--batch", batch, "--out", out); code != 0 {
		t.Fatalf("grad: %s", errOut)
	}
	f, err := weights.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Info("lm_head.weight"); ok {
		t.Error("tied model's gradient has lm_head.weight")
	}
	for _, name := range []string{"loss", "logp", "entropy", "model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight"} {
		if _, ok := f.Info(name); !ok {
			t.Errorf("gradient file lacks %q", name)
		}
	}
	if info, _ := f.Info("logp"); info.NumElements() != 4+3 {
		t.Errorf("logp has %d entries, want 7 response tokens", info.NumElements())
	}
	stepOut := filepath.Join(t.TempDir(), "stepped")
	if code, _, errOut := capture(t, "", "step", "--model", dir, "--batch", batch, "--steps", "3", "--lr", "1e-3", "--out", stepOut); code != 0 {
		t.Fatalf("step: %s", errOut)
	}
	before, _ := qwen3.Load(dir, qwen3.Options{})
	after, err := qwen3.Load(stepOut, qwen3.Options{})
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i := range before.Params.Data {
		if before.Params.Data[i] != after.Params.Data[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("step changed no parameter")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"sequences": [[1,2,999]], "prompt_lens": [1], "advantages": [1]}`), 0o644)
	if code, _, errOut := capture(t, "", "grad", "--model", dir, "--batch", bad, "--out", out); code == 0 || !strings.Contains(errOut, "outside the vocabulary") {
		t.Errorf("bad batch: exit %d, %q", code, errOut)
	}
}

func TestSFTLowersLossAndRunTrains(t *testing.T) {
	dir := tinyModelDir(t, true, weights.F32)
	work := t.TempDir()
	var sft strings.Builder
	for i := 0; i < 16; i++ {
		fmt.Fprintf(&sft, `{"prompt": "<|im_start|>user\nWhat is %d+1?<|im_end|>\n<|im_start|>assistant\n", "response": "\\boxed{%d}"}`+"\n", i%4, i%4+1)
	}
	data := filepath.Join(work, "sft.jsonl")
	os.WriteFile(data, []byte(sft.String()), 0o644)
	out := filepath.Join(work, "sft")
	if code, _, errOut := capture(t, "", "sft", "--model", dir, "--data", data, "--out", out, "--epochs", "6", "--batch-size", "8", "--lr", "1e-2", "--warmup", "0"); code != 0 {
		t.Fatalf("sft: %s", errOut)
	}
	ms, err := readMetrics(out)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := ms[0].SFT.Loss, ms[len(ms)-1].SFT.Loss; !(last < first*0.7) {
		t.Fatalf("sft loss went from %g to %g", first, last)
	}
	var problems strings.Builder
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&problems, `{"id": "q%d", "question": "What is %d+1?", "answer": "%d"}`+"\n", i, i, i+1)
	}
	train := filepath.Join(work, "train.jsonl")
	os.WriteFile(train, []byte(problems.String()), 0o644)
	runDir := filepath.Join(work, "run")
	args := []string{"run", "--model", filepath.Join(out, "model"), "--train", train, "--val", train, "--out", runDir, "--steps", "2",
		"--batch-problems", "2", "--group-size", "4", "--max-tokens", "12", "--lr", "1e-3", "--checkpoint-every", "1", "--val-n", "2", "--val-k", "1,2"}
	if code, _, errOut := capture(t, "", args...); code != 0 {
		t.Fatalf("run: %s", errOut)
	}
	ms, err = readMetrics(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ms[0].Validation[2]; len(ms) != 3 || !ok {
		t.Fatalf("metrics: %v", ms)
	}
	if _, err := lte.LatestCheckpoint(runDir); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := capture(t, "", args...); code == 0 || !strings.Contains(errOut, "--resume") {
		t.Fatalf("rerun into an existing run: exit %d, %q", code, errOut)
	}
	for i, a := range args {
		if a == "--steps" {
			args[i+1] = "3"
		}
	}
	if code, _, errOut := capture(t, "", append(args, "--resume")...); code != 0 {
		t.Fatalf("resume: %s", errOut)
	}
	if ms, _ = readMetrics(runDir); len(ms) != 4 {
		t.Fatalf("after resume %d metrics lines, want 4", len(ms))
	}
}
