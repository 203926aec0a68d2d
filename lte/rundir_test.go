package lte

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkpointedRun writes a 3-step run with a checkpoint after every step (two kept).
func checkpointedRun(t *testing.T) (dir, modelDir string) {
	t.Helper()
	modelDir = tinyRun(t)
	cfg := tinyConfig(AlgoGRPO)
	cfg.Steps, cfg.CheckpointEvery = 3, 1
	dir = filepath.Join(t.TempDir(), "run")
	rd, err := CreateRunDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runTo(t, newTinyTrainer(t, modelDir, cfg), rd, modelDir)
	rd.Close()
	return dir, modelDir
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, at)
	b[0] ^= 1
	f.WriteAt(b, at)
}

// TestCheckpointChecksums flips one bit of the newest checkpoint's weights: resuming is
// refused, naming the damaged file and the newest good checkpoint, which resumes once the
// damaged one is moved aside.
func TestCheckpointChecksums(t *testing.T) {
	dir, _ := checkpointedRun(t)
	ckpts := checkpoints(dir)
	if len(ckpts) != 2 || filepath.Base(ckpts[1]) != "step-000003" {
		t.Fatalf("checkpoints %v", ckpts)
	}
	st, err := VerifyCheckpoint(ckpts[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"model.safetensors", OptimizerFile, "config.json", "tokenizer.json"} {
		if len(st.Files[name]) != 64 {
			t.Errorf("state records no sha256 of %s: %v", name, st.Files)
		}
	}
	flipByte(t, filepath.Join(ckpts[1], "model.safetensors"), 5000)
	_, _, _, err = ResumeRunDir(dir)
	for _, w := range []string{"step-000003", "model.safetensors has changed", "newest good checkpoint is step-000002", "move step-000003 out of"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("resume error %v lacks %q", err, w)
		}
	}
	flipByte(t, filepath.Join(ckpts[0], OptimizerFile), 100)
	if _, _, _, err = ResumeRunDir(dir); err == nil || !strings.Contains(err.Error(), "no other checkpoint") {
		t.Errorf("both damaged: %v", err)
	}
	flipByte(t, filepath.Join(ckpts[0], OptimizerFile), 100)
	os.Rename(ckpts[1], filepath.Join(t.TempDir(), "damaged"))
	rd, ckpt, st, err := ResumeRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	if ckpt != ckpts[0] || st.Step != 2 {
		t.Fatalf("resumed from %s at step %d", ckpt, st.Step)
	}
}

// TestStaleTemporariesAndRestart: what a killed checkpoint write leaves is removed, and a
// run that never checkpointed starts again instead of blocking its directory.
func TestStaleTemporariesAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	rd, err := CreateRunDir(dir, tinyConfig(AlgoGRPO))
	if err != nil {
		t.Fatal(err)
	}
	bad := math.NaN()
	rd.WriteMetrics(&Metrics{Step: 0, Validation: map[int]float64{4: 0.5}, TrainNonePass: &bad})
	rd.Close()
	raw, _ := os.ReadFile(filepath.Join(dir, MetricsFile))
	if string(raw) != `{"step":0,"train_none_pass":null,"val_pass@4":0.5}`+"\n" {
		t.Errorf("metrics line %q", raw)
	}
	stale := []string{
		filepath.Join(dir, CheckpointsDir, "step-000004.tmp", "model.safetensors"),
		filepath.Join(dir, CheckpointsDir, "step-000004.tmp.tmp", "x"),
		filepath.Join(dir, CheckpointsDir, "step-000002.old", "state.json"),
		filepath.Join(dir, ".metrics.jsonl.tmp-123"),
	}
	for _, p := range stale {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("junk"), 0o644)
	}
	if HasCheckpoint(dir) || !HasRun(dir) {
		t.Fatal("a run without checkpoint")
	}
	removed, err := CleanStale(dir)
	if err != nil || len(removed) != 4 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived", p)
		}
	}
	if _, err := CreateRunDir(dir, tinyConfig(AlgoLTE)); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Fatalf("creating a run over one: %v", err)
	}
	if err := ClearUncheckpointedRun(dir); err != nil {
		t.Fatal(err)
	}
	rd, err = CreateRunDir(dir, tinyConfig(AlgoLTE))
	if err != nil {
		t.Fatalf("restarting a run without checkpoint: %v", err)
	}
	rd.Close()
	if fi, _ := os.Stat(filepath.Join(dir, MetricsFile)); fi.Size() != 0 {
		t.Errorf("restarted run kept %d bytes of metrics", fi.Size())
	}
}

// TestNonFiniteStopsBeforeWriting: a step whose parameters turn NaN returns a
// NonFiniteError and writes no metrics, samples or checkpoint; SaveCheckpoint refuses
// non-finite parameters and leaves no temporary folder.
func TestNonFiniteStopsBeforeWriting(t *testing.T) {
	modelDir := tinyRun(t)
	cfg := tinyConfig(AlgoGRPO)
	cfg.Steps, cfg.CheckpointEvery = 2, 1
	dir := filepath.Join(t.TempDir(), "run")
	rd, err := CreateRunDir(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	tr := newTinyTrainer(t, modelDir, cfg)
	tr.OnSamples = rd.WriteSamples
	tr.Model.Params.Data[len(tr.Model.Params.Data)-1] = float32(math.Inf(1))
	wrote := 0
	tr.Hooks = []Hook{{Name: "metrics", Every: 1, Fn: func(int, *Metrics) error { wrote++; return nil }}}
	err = tr.Run(context.Background())
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Step != 1 {
		t.Fatalf("error %v, want a NonFiniteError at step 1", err)
	}
	if wrote != 0 {
		t.Errorf("%d metrics lines after a non-finite step", wrote)
	}
	if fi, _ := os.Stat(filepath.Join(dir, SamplesFile)); fi.Size() != 0 {
		t.Errorf("samples written after a non-finite step: %d bytes", fi.Size())
	}
	if _, err := rd.SaveCheckpoint(1, tr.Model.Params, tr.Opt, tr.Buffer, modelDir, 2); !errors.As(err, &nf) || nf.What != "parameters" {
		t.Fatalf("saving non-finite parameters: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, CheckpointsDir)); len(entries) != 0 {
		t.Errorf("checkpoint folder holds %v", entries)
	}
}

// TestInterruptCheckpointsWithoutEndHooks: a run cancelled during its first step finishes
// it and checkpoints, but runs no AtEnd hook (validation), so its metrics line is the one an
// uninterrupted run writes.
func TestInterruptCheckpointsWithoutEndHooks(t *testing.T) {
	modelDir := tinyRun(t)
	cfg := tinyConfig(AlgoGRPO)
	tr := newTinyTrainer(t, modelDir, cfg)
	var ran []string
	hook := func(name string) func(int, *Metrics) error {
		return func(step int, _ *Metrics) error { ran = append(ran, name); return nil }
	}
	tr.Hooks = []Hook{
		{Name: "validation", Every: 10, AtEnd: true, Fn: hook("validation")},
		{Name: "metrics", Every: 1, Fn: hook("metrics")},
		{Name: "checkpoint", Every: 50, AtEnd: true, OnStop: true, Fn: hook("checkpoint")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Run(ctx); !errors.Is(err, context.Canceled) || tr.Step != 1 {
		t.Fatalf("error %v at step %d", err, tr.Step)
	}
	if strings.Join(ran, ",") != "metrics,checkpoint" {
		t.Fatalf("hooks run: %v", ran)
	}
}
