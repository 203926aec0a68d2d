package lte

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"ltecli/weights"
)

// hashFiles returns the sha256 of every regular file of dir but the state file, by name.
func hashFiles(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == StateFile {
			continue
		}
		sum, err := hashFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sums[e.Name()] = sum
	}
	return sums, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadCheckpointState reads the run state of a checkpoint folder.
func ReadCheckpointState(ckpt string) (RunState, error) {
	raw, err := os.ReadFile(filepath.Join(ckpt, StateFile))
	if err != nil {
		return RunState{}, fmt.Errorf("checkpoint %s: %w", ckpt, err)
	}
	var st RunState
	if err := json.Unmarshal(raw, &st); err != nil {
		return RunState{}, fmt.Errorf("checkpoint %s: corrupt %s: %w", ckpt, StateFile, err)
	}
	return st, nil
}

// ErrNoChecksums marks a checkpoint written before checkpoints recorded checksums: it
// cannot be verified.
var ErrNoChecksums = errors.New("checkpoint records no checksums")

// VerifyCheckpoint reads a checkpoint's state and checks every file it records against its
// sha256. A checkpoint without checksums returns its state and ErrNoChecksums.
func VerifyCheckpoint(ckpt string) (RunState, error) {
	st, err := ReadCheckpointState(ckpt)
	if err != nil {
		return RunState{}, err
	}
	if len(st.Files) == 0 {
		return st, ErrNoChecksums
	}
	names := make([]string, 0, len(st.Files))
	for name := range st.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if filepath.Base(name) != name {
			return RunState{}, fmt.Errorf("checkpoint %s: %s names %q, not a plain file name", ckpt, StateFile, name)
		}
		sum, err := hashFile(filepath.Join(ckpt, name))
		if err != nil {
			return RunState{}, fmt.Errorf("checkpoint %s: %w", ckpt, err)
		}
		if sum != st.Files[name] {
			return RunState{}, fmt.Errorf("checkpoint %s: %s has changed since it was written (sha256 %s..., recorded %s...)", ckpt, name, sum[:12], st.Files[name][:min(12, len(st.Files[name]))])
		}
	}
	return st, nil
}

// checkpoints lists the complete checkpoint folders of a run, oldest first.
func checkpoints(dir string) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, CheckpointsDir, checkpointGlob))
	var done []string
	for _, p := range paths {
		if filepath.Ext(p) != "" {
			continue // step-NNNNNN.tmp, .old
		}
		if _, err := os.Stat(filepath.Join(p, StateFile)); err == nil {
			done = append(done, p)
		}
	}
	sort.Strings(done)
	return done
}

// GoodCheckpoint returns the newest checkpoint of a run that passes VerifyCheckpoint, with
// its state. When the newest one fails, the error says why and names the newest good one,
// so that the user can move the damaged one aside and resume from it. unverified is true
// for a checkpoint written without checksums.
func GoodCheckpoint(dir string) (ckpt string, st RunState, unverified bool, err error) {
	all := checkpoints(dir)
	if len(all) == 0 {
		return "", RunState{}, false, fmt.Errorf("%s has no checkpoint to resume from", dir)
	}
	newest := all[len(all)-1]
	st, err = VerifyCheckpoint(newest)
	if err == nil || errors.Is(err, ErrNoChecksums) {
		return newest, st, err != nil, nil
	}
	for i := len(all) - 2; i >= 0; i-- {
		if _, e := VerifyCheckpoint(all[i]); e == nil || errors.Is(e, ErrNoChecksums) {
			return "", RunState{}, false, fmt.Errorf("%w; the newest good checkpoint is %s: move %s out of %s and resume again to continue from it",
				err, filepath.Base(all[i]), filepath.Base(newest), filepath.Join(dir, CheckpointsDir))
		}
	}
	return "", RunState{}, false, fmt.Errorf("%w; no other checkpoint of %s is intact: start the run again in another --out", err, dir)
}

// CleanStale removes what an interrupted or failed write left in a run directory: checkpoint
// folders being written or replaced (step-NNNNNN.tmp, .old) and the temporary files of
// atomic writes (.NAME.tmp-*). Only the holder of the run's lock may call it. It returns the
// paths removed.
func CleanStale(dir string) ([]string, error) {
	var stale []string
	for _, pattern := range []string{
		filepath.Join(dir, CheckpointsDir, checkpointGlob+".tmp"), // also .tmp.tmp
		filepath.Join(dir, CheckpointsDir, checkpointGlob+".old"), // also .tmp.old
		filepath.Join(dir, ".*.tmp-*"),
		filepath.Join(dir, CheckpointsDir, checkpointGlob, ".*.tmp-*"),
	} {
		paths, _ := filepath.Glob(pattern)
		stale = append(stale, paths...)
	}
	var errs []error
	for _, p := range stale {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return stale, errors.Join(errs...)
}

// ClearUncheckpointedRun removes the files of a run that stopped before its first
// checkpoint (configuration, metrics, samples), so that it can start again; there is nothing
// to resume from. A run with a checkpoint is refused. The caller holds the lock.
func ClearUncheckpointedRun(dir string) error {
	if ckpts := checkpoints(dir); len(ckpts) > 0 {
		return fmt.Errorf("%s holds checkpoint %s: resume it instead", dir, filepath.Base(ckpts[len(ckpts)-1]))
	}
	for _, name := range []string{MetricsFile, SamplesFile, ConfigFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// NonFiniteError stops a run whose loss, gradient norm or parameters are no longer finite.
type NonFiniteError struct {
	Step   int    // the step that produced them
	What   string // "loss", "gradient norm", "parameters"
	Detail string
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("non-finite %s at step %d (%s)", e.What, e.Step, e.Detail)
}

// nonFiniteParam names the first tensor of s holding a NaN or infinite value.
func nonFiniteParam(s *weights.Store) (string, bool) {
	for _, v := range s.Views {
		for _, x := range s.Slice(v) {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return v.Name, true
			}
		}
	}
	return "", false
}

// checkFinite stops a step whose loss, gradient norm or updated parameters are not finite,
// before anything of the step is written. skipped counts the updates the optimizer skipped
// for a non-finite gradient norm.
func (t *Trainer) checkFinite(step int, loss, gradNorm float64, skipped int) error {
	switch {
	case math.IsNaN(loss) || math.IsInf(loss, 0):
		return &NonFiniteError{Step: step, What: "loss", Detail: fmt.Sprintf("loss %g", loss)}
	case skipped > 0 || math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0):
		return &NonFiniteError{Step: step, What: "gradient norm", Detail: fmt.Sprintf("norm %g, %d updates skipped", gradNorm, skipped)}
	}
	if name, bad := nonFiniteParam(t.Model.Params); bad {
		return &NonFiniteError{Step: step, What: "parameters", Detail: "first in " + name}
	}
	return nil
}
