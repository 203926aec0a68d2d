package lte

import (
	"context"
	"fmt"
)

// Hook is one action of the training loop: checkpoints, validation, logging and the
// engines' weights hang here instead of in the loop. Hooks run in the order they are given.
type Hook struct {
	Name string
	// AtStart runs the hook before the first step of a run that begins at step 0 (not a
	// resumed one), with a metrics line of step 0 that earlier hooks may fill.
	AtStart bool
	// Every runs the hook after every Every-th completed step (0: never).
	Every int
	// AtEnd runs it after the last step; OnStop after the step an interrupted run stops at.
	AtEnd, OnStop bool
	Fn            func(step int, m *Metrics) error
}

// due reports whether the hook runs after step.
func (h Hook) due(step int, last, stopping bool) bool {
	return (h.Every > 0 && step%h.Every == 0) || (last && h.AtEnd) || (stopping && h.OnStop)
}

// Loop is the training loop of RL (Trainer.Run) and SFT (SFT.Run), after gomlx's train.Loop:
// it runs the AtStart hooks when *step is 0, then trainStep until *step reaches total,
// counting each completed step in *step and running the hooks due after it. A cancelled ctx
// lets the current step finish; the OnStop hooks run after it (not the AtEnd ones: an
// interrupted run must write what an uninterrupted one writes at that step, plus its
// checkpoint) and Loop returns ctx's error.
func Loop(ctx context.Context, step *int, total int, hooks []Hook, trainStep func() (*Metrics, error)) error {
	if *step == 0 {
		m := &Metrics{Step: 0}
		for _, h := range hooks {
			if h.AtStart {
				if err := h.Fn(0, m); err != nil {
					return fmt.Errorf("before step 1: %s: %w", h.Name, err)
				}
			}
		}
	}
	for *step < total {
		m, err := trainStep()
		if err != nil {
			return fmt.Errorf("step %d: %w", *step+1, err)
		}
		*step++
		last, stopping := *step == total, ctx.Err() != nil
		for _, h := range hooks {
			if h.due(*step, last, stopping) {
				if err := h.Fn(*step, m); err != nil {
					return fmt.Errorf("step %d: %s: %w", *step, h.Name, err)
				}
			}
		}
		if stopping {
			return ctx.Err()
		}
	}
	return nil
}
