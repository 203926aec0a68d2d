package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"ltecli/lte"
	"ltecli/weights"
)

// runLock is the lock of a run directory, held from before anything is read or written
// there until the command ends.
type runLock struct {
	lock    *weights.DirLock
	dir     string
	created bool // the folder did not exist before the lock made it
}

// lockRunDir takes dir's lock (refusing at once when another process holds it) and removes
// what an interrupted or failed write left there.
func lockRunDir(dir string) (*runLock, error) { return lockDir(dir, "run directory") }

// lockDir is lockRunDir for any folder one command writes; what names it in messages.
func lockDir(dir, what string) (*runLock, error) {
	_, statErr := os.Stat(dir)
	l, err := weights.LockDir(dir, what)
	if err != nil {
		return nil, err
	}
	stale, err := lte.CleanStale(dir)
	if len(stale) > 0 {
		fmt.Fprintf(os.Stderr, "removed %d stale temporary files of an interrupted write in %s\n", len(stale), dir)
	}
	if err != nil {
		l.Unlock()
		return nil, fmt.Errorf("cleaning %s: %w", dir, err)
	}
	return &runLock{lock: l, dir: dir, created: errors.Is(statErr, os.ErrNotExist)}, nil
}

// release unlocks; a folder the lock created and nothing else used is removed again, so that
// a command that failed before starting its run leaves nothing behind.
func (l *runLock) release() {
	if l == nil {
		return
	}
	if l.created {
		if entries, err := os.ReadDir(l.dir); err == nil && len(entries) == 1 && entries[0].Name() == weights.LockName {
			os.Remove(filepath.Join(l.dir, weights.LockName))
			os.Remove(l.dir)
		}
	}
	l.lock.Unlock()
}

// runPlan says how a run directory is opened: a new run, or the continuation of the one
// there.
type runPlan struct {
	resume  bool
	restart bool // the run there never checkpointed: its files are cleared first
	rewrite bool // run_config.json is written again, with the changes recorded
	setup   runSetup
}

// Settings that may differ on resume without --allow-changes: they change neither the
// samples nor the updates of the steps already taken (a longer run, other checkpoint
// intervals). They are still recorded.
var resumeFree = map[string]bool{"steps": true, "checkpoint_every": true, "keep_checkpoints": true,
	// Where the inference engines run does not change the computation: a resumed run may
	// point at engines restarted elsewhere.
	"backend_url": true}

// planRun decides, under the lock, how dir is opened for a run with setup. A directory
// without a run starts one (--resume is refused: nothing to continue). A run that never
// reached its first checkpoint is started again from step 0. A checkpointed run needs
// --resume, and resumes only with the settings it was started with, unless allowChanges:
// then the differences are recorded in run_config.json.
func planRun(dir string, setup runSetup, resume, allowChanges bool) (runPlan, error) {
	plan := runPlan{setup: setup}
	if !lte.HasRun(dir) {
		if resume {
			return plan, fmt.Errorf("%s holds no run to resume: leave out --resume to start one", dir)
		}
		return plan, nil
	}
	hasCkpt := lte.HasCheckpoint(dir)
	if hasCkpt && !resume {
		return plan, fmt.Errorf("%s already holds a run with a checkpoint: pass --resume to continue it, or choose another --out", dir)
	}
	step := 0
	if hasCkpt {
		ckpt, err := lte.LatestCheckpoint(dir)
		if err != nil {
			return plan, err
		}
		st, err := lte.ReadCheckpointState(ckpt)
		if err != nil {
			return plan, err
		}
		if step = st.Step; setup.Steps < step {
			return plan, fmt.Errorf("--steps %d is below the step of the latest checkpoint, %d: a run cannot be shortened", setup.Steps, step)
		}
	}
	if resume {
		saved, err := os.ReadFile(filepath.Join(dir, lte.ConfigFile))
		if err != nil {
			return plan, fmt.Errorf("resuming %s: %w", dir, err)
		}
		changes, history, err := configChanges(saved, setup)
		if err != nil {
			return plan, fmt.Errorf("resuming %s: %s: %w", dir, lte.ConfigFile, err)
		}
		var restricted []string
		for _, c := range changes {
			if !resumeFree[c.Key] {
				restricted = append(restricted, c.String())
			}
		}
		if len(restricted) > 0 && !allowChanges {
			return plan, fmt.Errorf("%s was started with other settings: %s; pass the same flags to resume it, or add --allow-changes to resume with these (recorded in %s)",
				dir, strings.Join(restricted, ", "), lte.ConfigFile)
		}
		plan.setup.Changes = history
		if len(changes) > 0 {
			rec, _ := json.Marshal(struct {
				AtStep  int            `json:"at_step"`
				Changes []configChange `json:"changed"`
			}{step, changes})
			plan.setup.Changes = append(plan.setup.Changes, rec)
			plan.rewrite = true
		}
	}
	if !hasCkpt {
		fmt.Fprintf(os.Stderr, "%s holds a run that stopped before its first checkpoint: starting it again from step 0\n", dir)
		plan.restart = true
		return plan, nil
	}
	plan.resume = true
	return plan, nil
}

// configChange is one setting that differs from the saved run_config.json.
type configChange struct {
	Key  string `json:"key"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

func (c configChange) String() string {
	show := func(v any) string {
		raw, _ := json.Marshal(v)
		return string(raw)
	}
	return fmt.Sprintf("%s %s (now %s)", c.Key, show(c.From), show(c.To))
}

// configChanges compares a saved run_config.json with setup, key by key (nested objects
// flattened as loss.clip_low), and returns the differences in key order and the change
// history recorded in the saved file.
func configChanges(saved []byte, setup runSetup) ([]configChange, []json.RawMessage, error) {
	var had map[string]any
	if err := json.Unmarshal(saved, &had); err != nil {
		return nil, nil, err
	}
	var history []json.RawMessage
	if raw, ok := had["changes"]; ok {
		b, _ := json.Marshal(raw)
		json.Unmarshal(b, &history)
	}
	raw, err := json.Marshal(setup)
	if err != nil {
		return nil, nil, err
	}
	var now map[string]any
	if err := json.Unmarshal(raw, &now); err != nil {
		return nil, nil, err
	}
	a, b := map[string]any{}, map[string]any{}
	flatten("", had, a)
	flatten("", now, b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []configChange
	for k := range keys {
		if k == "changes" || strings.HasPrefix(k, "changes.") {
			continue
		}
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, configChange{Key: k, From: a[k], To: b[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, history, nil
}

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := prefix + k
		if sub, ok := v.(map[string]any); ok && k != "changes" {
			flatten(key+".", sub, out)
			continue
		}
		out[key] = v
	}
}

// writeRunConfig replaces run_config.json with setup.
func writeRunConfig(dir string, setup runSetup) error {
	raw, err := json.MarshalIndent(setup, "", "  ")
	if err != nil {
		return err
	}
	return weights.WriteAtomic(filepath.Join(dir, lte.ConfigFile), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// explainRunError adds to a failed run's error what the run directory holds now.
func explainRunError(err error, dir string) error {
	var nf *lte.NonFiniteError
	if !errors.As(err, &nf) {
		return err
	}
	last := "none (the run stopped before its first checkpoint)"
	if ckpt, e := lte.LatestCheckpoint(dir); e == nil {
		last = filepath.Base(ckpt)
	}
	return fmt.Errorf("non-finite at step %d; last good checkpoint %s (%s %s; nothing of step %d was written): lower --lr or check the model, then resume with --resume --allow-changes",
		nf.Step, last, nf.What, nf.Detail, nf.Step)
}
