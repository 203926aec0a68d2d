package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleLR(t *testing.T) {
	cosine := ScheduleConfig{Kind: Cosine, PeakLR: 1, WarmupSteps: 10, TotalSteps: 110, MinRatio: 0.1}
	linear := ScheduleConfig{Kind: Linear, PeakLR: 2, WarmupSteps: 0, TotalSteps: 100, MinRatio: 0.5}
	cases := []struct {
		c    ScheduleConfig
		step int
		want float64
	}{
		{c: ScheduleConfig{Kind: Constant, PeakLR: 3e-4}, step: 0, want: 3e-4},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 3e-4}, step: 1 << 40, want: 3e-4},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: 4}, step: 0, want: 0.25},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: 4}, step: 2, want: 0.75},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: 4}, step: 3, want: 1},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: 4}, step: 500, want: 1},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: 4}, step: -3, want: 0.25},
		{c: cosine, step: 0, want: 0.1},
		{c: cosine, step: 4, want: 0.5},
		{c: cosine, step: 9, want: 1},
		{c: cosine, step: 10, want: 1},
		{c: cosine, step: 60, want: 0.55},                           // half way: 0.1 + 0.9*0.5
		{c: cosine, step: 35, want: 0.1 + 0.9*0.5*(1+math.Sqrt2/2)}, // a quarter: cos(pi/4)
		{c: cosine, step: 85, want: 0.1 + 0.9*0.5*(1-math.Sqrt2/2)}, // three quarters
		{c: cosine, step: 110, want: 0.1},
		{c: cosine, step: 1000, want: 0.1},
		{c: linear, step: 0, want: 2},
		{c: linear, step: 50, want: 1.5},
		{c: linear, step: 100, want: 1},
		{c: linear, step: 101, want: 1},
	}
	for i, c := range cases {
		if got := c.c.LR(c.step); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("case %d: %v at step %d = %.17g, want %.17g", i, c.c, c.step, got, c.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	cases := []struct {
		c    ScheduleConfig
		want string // "" for valid
	}{
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1e-3}},
		{c: ScheduleConfig{Kind: Cosine, PeakLR: 1e-3, WarmupSteps: 5, TotalSteps: 6, MinRatio: 1}},
		{c: ScheduleConfig{Kind: "step", PeakLR: 1e-3}, want: "kind"},
		{c: ScheduleConfig{Kind: Constant, PeakLR: math.NaN()}, want: "learning rate"},
		{c: ScheduleConfig{Kind: Constant, PeakLR: -1}, want: "learning rate"},
		{c: ScheduleConfig{Kind: Constant, PeakLR: 1, WarmupSteps: -1}, want: "warm-up"},
		{c: ScheduleConfig{Kind: Cosine, PeakLR: 1, WarmupSteps: 10, TotalSteps: 10}, want: "must exceed"},
		{c: ScheduleConfig{Kind: Linear, PeakLR: 1, TotalSteps: 10, MinRatio: 1.5}, want: "min ratio"},
	}
	for i, c := range cases {
		err := c.c.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("case %d: Validate(%v) = %v, want %q", i, c.c, err, c.want)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	cases := []struct {
		spec string
		want ScheduleConfig
		err  string
	}{
		{spec: "constant", want: ScheduleConfig{Kind: Constant}},
		{spec: " cosine ", want: ScheduleConfig{Kind: Cosine}},
		{spec: "cosine,lr=1e-6,warmup=10,total=500,min_ratio=0.1", want: ScheduleConfig{Kind: Cosine, PeakLR: 1e-6, WarmupSteps: 10, TotalSteps: 500, MinRatio: 0.1}},
		{spec: "linear, total=7, lr=0.3", want: ScheduleConfig{Kind: Linear, PeakLR: 0.3, TotalSteps: 7}},
		{spec: "", err: "kind"},
		{spec: "exponential", err: "kind"},
		{spec: "cosine,warmup", err: "key=value"},
		{spec: "cosine,warmup=1,warmup=2", err: "twice"},
		{spec: "cosine,decay=2", err: "unknown field"},
		{spec: "cosine,total=ten", err: "total"},
		{spec: "cosine,lr=fast", err: "lr"},
	}
	for i, c := range cases {
		got, err := ParseSchedule(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("case %d: ParseSchedule(%q) error %v, want one containing %q", i, c.spec, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("case %d: ParseSchedule(%q) = %+v, %v; want %+v", i, c.spec, got, err, c.want)
		}
		if back, err := ParseSchedule(got.String()); err != nil || back != got {
			t.Errorf("case %d: %q read back as %+v, %v; want %+v", i, got.String(), back, err, got)
		}
	}
	odd := ScheduleConfig{Kind: Cosine, PeakLR: 0.1 + 0.2, WarmupSteps: 3, TotalSteps: 9, MinRatio: 1.0 / 3}
	if back, err := ParseSchedule(odd.String()); err != nil || back != odd {
		t.Errorf("%q read back as %+v, %v; want the same bits as %+v", odd.String(), back, err, odd)
	}
}
