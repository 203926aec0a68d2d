package lte

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestLoopHooks runs the loop over five steps and records which hook ran when: start hooks
// share one line of step 0, every-N hooks follow the step count, end hooks run once, and a
// cancelled loop finishes its step, runs only the stop hooks and returns the context's error.
func TestLoopHooks(t *testing.T) {
	for i, tc := range []struct {
		from, cancelAt int
		want           string
	}{
		{0, 0, "start:0 fill:0 log:0=v | log:1 | log:2 every2:2 | log:3 | log:4 every2:4 | log:5 end:5"},
		{3, 0, "| log:4 every2:4 | log:5 end:5"},
		{0, 3, "start:0 fill:0 log:0=v | log:1 | log:2 every2:2 | log:3 stop:3"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var ran []string
		step := tc.from
		record := func(name string) func(int, *Metrics) error {
			return func(s int, m *Metrics) error {
				if m.Step != s {
					return fmt.Errorf("%s: line of step %d at step %d", name, m.Step, s)
				}
				entry := fmt.Sprintf("%s:%d", name, s)
				if name == "log" && m.Validation != nil {
					entry += "=v"
				}
				ran = append(ran, entry)
				return nil
			}
		}
		hooks := []Hook{
			{Name: "start", AtStart: true, Fn: record("start")},
			{Name: "fill", AtStart: true, Fn: func(s int, m *Metrics) error {
				m.Validation = map[int]float64{1: 0.5}
				return record("fill")(s, m)
			}},
			{Name: "log", AtStart: true, Every: 1, Fn: record("log")},
			{Name: "every2", Every: 2, Fn: record("every2")},
			{Name: "end", AtEnd: true, Fn: record("end")},
			{Name: "stop", OnStop: true, Fn: record("stop")},
		}
		err := Loop(ctx, &step, 5, hooks, func() (*Metrics, error) {
			ran = append(ran, "|")
			if step+1 == tc.cancelAt {
				cancel()
			}
			return &Metrics{Step: step + 1}, nil
		})
		cancel()
		if got := strings.Join(ran, " "); got != tc.want {
			t.Errorf("case %d: hooks ran\n%s\nwant\n%s", i, got, tc.want)
		}
		if (tc.cancelAt > 0) != errors.Is(err, context.Canceled) || (tc.cancelAt == 0 && err != nil) {
			t.Errorf("case %d: error %v", i, err)
		}
	}
	step := 0
	err := Loop(context.Background(), &step, 3, []Hook{{Name: "save", Every: 2, Fn: func(int, *Metrics) error { return errors.New("disk full") }}},
		func() (*Metrics, error) { return &Metrics{Step: step + 1}, nil })
	if err == nil || err.Error() != "step 2: save: disk full" || step != 2 {
		t.Errorf("failing hook: %v at step %d", err, step)
	}
}
