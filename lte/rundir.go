package lte

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"ltecli/lte/jsonl"
	"ltecli/lte/zstdlog"
	"ltecli/model/qwen3"
	"ltecli/optim"
	"ltecli/weights"
)

// Run directory layout.
const (
	ConfigFile     = "run_config.json"   // the resolved run configuration
	MetricsFile    = "metrics.jsonl"     // one JSON object per step
	SamplesFile    = "samples.jsonl.zst" // every sample, one zstd frame per step
	CheckpointsDir = "checkpoints"       // step-NNNNNN folders, the last K kept
	OptimizerFile  = "optimizer.safetensors.zst"
	StateFile      = "state.json"
	checkpointGlob = "step-*"
	checkpointFmt  = "step-%06d"
)

// RunState is what a checkpoint holds besides parameters and optimizer: enough to continue
// the run exactly. Random streams are pure functions of (seed, step), so the step is the RNG
// state, and the data cursor is derived from the step too.
type RunState struct {
	Step         int             `json:"step"`
	MetricsBytes int64           `json:"metrics_bytes"` // length of metrics.jsonl at the checkpoint
	SamplesBytes int64           `json:"samples_bytes"` // length of samples.jsonl.zst at the checkpoint
	Buffer       json.RawMessage `json:"replay_buffer"`
	// Files holds the sha256 of every other file of the checkpoint, checked on resume.
	Files map[string]string `json:"files,omitempty"`
}

// RunDir is an open run directory.
type RunDir struct {
	Dir     string
	metrics *os.File
	samples *zstdlog.Log
}

// CreateRunDir starts a new run in dir, refusing one that already holds a run (a run that
// never reached its first checkpoint can be cleared with ClearUncheckpointedRun first).
func CreateRunDir(dir string, cfg any) (*RunDir, error) {
	if _, err := os.Stat(filepath.Join(dir, MetricsFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run: pass --resume to continue it, or choose another --out", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := weights.WriteAtomic(filepath.Join(dir, ConfigFile), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	}); err != nil {
		return nil, err
	}
	return openFiles(dir, 0, 0)
}

// HasRun reports whether dir holds a run, begun or checkpointed.
func HasRun(dir string) bool {
	for _, name := range []string{ConfigFile, MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// HasCheckpoint reports whether dir holds a complete checkpoint.
func HasCheckpoint(dir string) bool { return len(checkpoints(dir)) > 0 }

// ResumeRunDir reopens dir at its newest checkpoint, after checking the checksums of its
// files (a damaged one is an error naming the newest good one): metrics and samples written
// after it are cut off, so that the continued run writes exactly what an uninterrupted run
// would have. It returns the checkpoint's folder and state. The caller holds the lock.
func ResumeRunDir(dir string) (*RunDir, string, RunState, error) {
	ckpt, st, _, err := GoodCheckpoint(dir)
	if err != nil {
		return nil, "", RunState{}, err
	}
	r, err := openFiles(dir, st.MetricsBytes, st.SamplesBytes)
	if err != nil {
		return nil, "", RunState{}, err
	}
	return r, ckpt, st, nil
}

// LatestCheckpoint returns the newest complete checkpoint folder of a run.
func LatestCheckpoint(dir string) (string, error) {
	done := checkpoints(dir)
	if len(done) == 0 {
		return "", fmt.Errorf("%s has no checkpoint to resume from", dir)
	}
	return done[len(done)-1], nil
}

func openFiles(dir string, metricsLen, samplesLen int64) (*RunDir, error) {
	m, err := os.OpenFile(filepath.Join(dir, MetricsFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := cutTo(m, metricsLen); err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", MetricsFile, err)
	}
	s, err := zstdlog.Open(filepath.Join(dir, SamplesFile), samplesLen)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &RunDir{Dir: dir, metrics: m, samples: s}, nil
}

// cutTo cuts f back to its first keep bytes, which it must have, and seeks to the end.
func cutTo(f *os.File, keep int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < keep {
		return fmt.Errorf("the file is shorter (%d bytes) than recorded (%d)", st.Size(), keep)
	}
	if err := f.Truncate(keep); err != nil {
		return err
	}
	_, err = f.Seek(keep, io.SeekStart)
	return err
}

// Close closes the files.
func (r *RunDir) Close() error {
	return errors.Join(r.metrics.Close(), r.samples.Close())
}

// WriteMetrics appends one line to metrics.jsonl (see Metrics for its keys).
func (r *RunDir) WriteMetrics(m *Metrics) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := r.metrics.Write(append(raw, '\n')); err != nil {
		return err
	}
	return r.metrics.Sync()
}

// SampleRecord is one line of samples.jsonl.zst.
type SampleRecord struct {
	Step         int      `json:"step"`
	ProblemID    string   `json:"problem_id"`
	Prompt       string   `json:"prompt"`
	Response     string   `json:"response"`
	Answer       string   `json:"answer"`
	Gold         string   `json:"gold"`
	Correct      bool     `json:"correct"`
	FinishReason string   `json:"finish_reason"`
	Hinted       bool     `json:"hinted"`
	Extra        bool     `json:"extra,omitempty"`
	HintAnswers  []string `json:"hint_answers"`
	Template     string   `json:"template"`
	Used         *bool    `json:"used,omitempty"` // hinted and extra samples: replaced a failed one
	OffPolicy    bool     `json:"off_policy"`
	Advantage    float64  `json:"advantage"`
	Tokens       int      `json:"tokens"`
}

// WriteSamples appends one step's samples as one zstd frame.
func (r *RunDir) WriteSamples(step int, rollouts []*Rollout, problems []Problem) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, ro := range rollouts {
		rec := SampleRecord{
			Step: step, ProblemID: problems[ro.Group].ID, Prompt: ro.Prompt, Response: ro.Response,
			Answer: ro.Answer, Gold: problems[ro.Group].Answer, Correct: ro.Correct, FinishReason: ro.Sample.FinishReason,
			Hinted: ro.Hinted, Extra: ro.Extra, HintAnswers: ro.HintAnswers, Template: ro.Template,
			OffPolicy: ro.Hinted && ro.Used, Advantage: ro.Advantage, Tokens: len(ro.ResponseIDs()),
		}
		if rec.HintAnswers == nil {
			rec.HintAnswers = []string{}
		}
		if ro.Hinted || ro.Extra {
			used := ro.Used
			rec.Used = &used
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return r.samples.Append(buf.Bytes())
}

// ReadSamples decodes a samples.jsonl.zst file (an incomplete last frame, the step being
// written, is left out).
func ReadSamples(path string) ([]SampleRecord, error) {
	text, _, err := zstdlog.Read(path)
	if err != nil {
		return nil, err
	}
	var out []SampleRecord
	err = jsonl.Each(bytes.NewReader(text), func(raw []byte) error {
		var rec SampleRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s (decompressed):%w", path, err)
	}
	return out, nil
}

// SaveCheckpoint writes checkpoints/step-NNNNNN: the model folder (parameters as safetensors
// with srcModel's config and tokenizer files), the optimizer state and the run state (with
// buffer, the replay buffer, when not nil, and the sha256 of every other file), then keeps
// only the newest keep checkpoints. The folder appears whole or not at all, and a failed
// write leaves no temporary folder behind. Parameters that are not all finite are refused:
// such a checkpoint could only spread them.
func (r *RunDir) SaveCheckpoint(step int, params *weights.Store, opt *optim.AdamW, buffer *ReplayBuffer, srcModel string, keep int) (string, error) {
	if name, bad := nonFiniteParam(params); bad {
		return "", &NonFiniteError{Step: step, What: "parameters", Detail: "first in " + name}
	}
	dir := filepath.Join(r.Dir, CheckpointsDir, fmt.Sprintf(checkpointFmt, step))
	tmp := dir + ".tmp"
	if err := r.writeCheckpoint(step, tmp, params, opt, buffer, srcModel); err != nil {
		os.RemoveAll(tmp + ".tmp")
		os.RemoveAll(tmp)
		return "", fmt.Errorf("writing checkpoint %s: %w", filepath.Base(dir), err)
	}
	if err := qwen3.ReplaceDir(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if keep > 0 {
		done := checkpoints(r.Dir)
		for len(done) > keep {
			if err := os.RemoveAll(done[0]); err != nil {
				return "", err
			}
			done = done[1:]
		}
	}
	return dir, nil
}

// writeCheckpoint writes the files of a checkpoint into the folder tmp.
func (r *RunDir) writeCheckpoint(step int, tmp string, params *weights.Store, opt *optim.AdamW, buffer *ReplayBuffer, srcModel string) error {
	if err := qwen3.SaveModel(tmp, srcModel, params); err != nil {
		return err
	}
	if err := opt.Save(filepath.Join(tmp, OptimizerFile), nil); err != nil {
		return err
	}
	var buf json.RawMessage
	if buffer != nil {
		var err error
		if buf, err = json.Marshal(buffer); err != nil {
			return err
		}
	}
	mLen, err := r.metrics.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	sLen := r.samples.Size()
	sums, err := hashFiles(tmp)
	if err != nil {
		return err
	}
	st, err := json.MarshalIndent(RunState{Step: step, MetricsBytes: mLen, SamplesBytes: sLen, Buffer: buf, Files: sums}, "", "  ")
	if err != nil {
		return err
	}
	return weights.WriteAtomic(filepath.Join(tmp, StateFile), func(w io.Writer) error {
		_, err := w.Write(st)
		return err
	})
}

// Restore loads a checkpoint's parameters, optimizer and replay buffer into t.
func (t *Trainer) Restore(ckpt string, st RunState) error {
	c, err := weights.OpenCheckpoint(ckpt)
	if err != nil {
		return err
	}
	params, err := qwen3.LoadParams(t.Model.Config, c)
	if err != nil {
		return err
	}
	copy(t.Model.Params.Data, params.Data)
	opt, _, err := optim.LoadAdamW(filepath.Join(ckpt, OptimizerFile), t.Model.Params)
	if err != nil {
		return err
	}
	t.Opt = opt
	if len(st.Buffer) > 0 {
		if err := json.Unmarshal(st.Buffer, t.Buffer); err != nil {
			return err
		}
	}
	t.Step = st.Step
	return nil
}
