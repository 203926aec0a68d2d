package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"ltecli/lte"
	"ltecli/lte/jsonl"
)

// Chart size: PNGs are drawn at 96 dots per inch, so 768 x 480 pixels.
const (
	ChartWidth  = 8 * vg.Inch
	ChartHeight = 5 * vg.Inch
)

// sparseSeries is the point count under which a series is drawn with a marker at each point
// as well as lines (validation runs every N steps; a lone point has no line to show).
const sparseSeries = 40

// chartSpec is one chart: the name of its file, its title, the unit of its y axis and the
// metric it draws (false for a line without it).
type chartSpec struct {
	name, title, unit string
	value             func(*lte.Metrics) (float64, bool)
}

// metricCharts are the training curves drawn from metrics.jsonl, besides validation Pass@k.
var metricCharts = []chartSpec{
	{"none_pass", "None-pass problems", "problems", rollout(func(r *lte.RolloutMetrics) float64 { return float64(r.NonePass) })},
	{"train_none_pass", "None-pass share of the training problems (G samples each)", "fraction", func(m *lte.Metrics) (float64, bool) {
		if m.TrainNonePass == nil {
			return 0, false
		}
		return *m.TrainNonePass, true
	}},
	{"some_pass", "Some-pass problems", "problems", rollout(func(r *lte.RolloutMetrics) float64 { return float64(r.SomePass) })},
	{"all_pass", "All-pass problems", "problems", rollout(func(r *lte.RolloutMetrics) float64 { return float64(r.AllPass) })},
	{"reward_mean", "Mean reward", "reward", rollout(func(r *lte.RolloutMetrics) float64 { return r.RewardMean })},
	{"entropy", "Mean token entropy", "nats", func(m *lte.Metrics) (float64, bool) {
		if m.Update == nil {
			return 0, false
		}
		return m.Update.Entropy, true
	}},
	{"response_len_mean", "Mean response length", "tokens", rollout(func(r *lte.RolloutMetrics) float64 { return r.ResponseLenMean })},
}

// rollout draws a number of the rollout group of a line.
func rollout(value func(*lte.RolloutMetrics) float64) func(*lte.Metrics) (float64, bool) {
	return func(m *lte.Metrics) (float64, bool) {
		if m.Rollouts == nil {
			return 0, false
		}
		return value(m.Rollouts), true
	}
}

// validationChart draws validation Pass@k.
func validationChart(k int) chartSpec {
	return chartSpec{fmt.Sprintf("val_pass_at_%d", k), fmt.Sprintf("Validation Pass@%d", k), fmt.Sprintf("pass@%d", k),
		func(m *lte.Metrics) (float64, bool) {
			v, ok := m.Validation[k]
			return v, ok
		}}
}

// RunMetrics are one run's metrics lines under the name its chart legend shows.
type RunMetrics struct {
	Name  string
	Lines []lte.Metrics
}

// ReadMetrics reads a metrics.jsonl (see lte.Metrics), which the run may still be writing:
// an unfinished last line is left out (jsonl.ReadLog).
func ReadMetrics(path string) ([]lte.Metrics, error) {
	var lines []lte.Metrics
	err := jsonl.ReadLog(path, func(raw []byte) error {
		var m lte.Metrics
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		lines = append(lines, m)
		return nil
	})
	return lines, err
}

// PlotMetrics draws one PNG per metric into dir (created if missing), every run a line
// over steps: the none/some/all-pass counts, mean reward, entropy, mean response length, and
// each validation Pass@k. A line without the chart's metric, or with a value that is not
// finite, adds no point; a chart no run has a point for is not drawn. It returns the files
// written.
func PlotMetrics(runs []RunMetrics, dir string) ([]string, error) {
	charts := slices.Clone(metricCharts)
	var lines []lte.Metrics
	for _, run := range runs {
		lines = append(lines, run.Lines...)
	}
	for _, k := range lte.ValidationKs(lines) {
		charts = append(charts, validationChart(k))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, c := range charts {
		p := plot.New()
		p.Title.Text = c.title
		p.X.Label.Text = "step"
		p.Y.Label.Text = c.unit
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), -vg.Points(6)
		drawn := false
		for i, run := range runs {
			var pts plotter.XYs
			for i := range run.Lines {
				if v, ok := c.value(&run.Lines[i]); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					pts = append(pts, plotter.XY{X: float64(run.Lines[i].Step), Y: v})
				}
			}
			if len(pts) == 0 {
				continue
			}
			drawn = true
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("chart %s, run %s: %w", c.name, run.Name, err)
			}
			l.Color = plotutil.Color(i)
			l.Dashes = plotutil.Dashes(i)
			p.Add(l)
			if len(pts) < sparseSeries {
				s.Color = plotutil.Color(i)
				s.Shape = plotutil.Shape(i)
				p.Add(s)
				p.Legend.Add(run.Name, l, s)
			} else {
				p.Legend.Add(run.Name, l)
			}
		}
		if !drawn {
			continue
		}
		path := filepath.Join(dir, c.name+".png")
		if err := p.Save(ChartWidth, ChartHeight, path); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.name, err)
		}
		files = append(files, path)
	}
	return files, nil
}
