package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart size: PNGs are drawn at 96 dots per inch, so 768 x 480 pixels.
const (
	ChartWidth  = 8 * vg.Inch
	ChartHeight = 5 * vg.Inch
)

// sparseSeries is the point count under which a series is drawn with a marker at each point
// as well as lines (validation runs every N steps; a lone point has no line to show).
const sparseSeries = 40

// chartSpec is one chart: the metrics key it draws, its title and the unit of its y axis.
type chartSpec struct{ key, title, unit string }

// metricCharts are the training curves drawn from metrics.jsonl, besides validation Pass@k.
var metricCharts = []chartSpec{
	{"none_pass", "None-pass problems", "problems"},
	{"train_none_pass", "None-pass share of the training problems (G samples each)", "fraction"},
	{"some_pass", "Some-pass problems", "problems"},
	{"all_pass", "All-pass problems", "problems"},
	{"reward_mean", "Mean reward", "reward"},
	{"entropy", "Mean token entropy", "nats"},
	{"response_len_mean", "Mean response length", "tokens"},
}

// validationPrefix starts the metrics keys of validation Pass@k ("val_pass@4").
const validationPrefix = "val_pass@"

// RunMetrics are one run's metrics lines under the name its chart legend shows.
type RunMetrics struct {
	Name  string
	Lines []map[string]float64 // the numeric values of each metrics.jsonl line
}

// ReadMetrics reads a metrics.jsonl: one JSON object per line, of which it keeps the numeric
// values. A last line without a newline that does not parse is a line being written and is
// skipped; any other malformed line is an error.
func ReadMetrics(path string) ([]map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []map[string]float64
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		raw, readErr := r.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, readErr)
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				if readErr != nil { // an unfinished last line
					break
				}
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			line := map[string]float64{}
			for key, v := range obj {
				if x, ok := v.(float64); ok {
					line[key] = x
				}
			}
			lines = append(lines, line)
		}
		if readErr != nil {
			break
		}
	}
	return lines, nil
}

// PlotMetrics draws one PNG per metric into dir (created if missing), every run a line
// over steps: the none/some/all-pass counts, mean reward, entropy, mean response length, and
// each validation Pass@k. A line without "step" or without the chart's key adds no point; a
// chart no run has a point for is not drawn. It returns the files written.
func PlotMetrics(runs []RunMetrics, dir string) ([]string, error) {
	charts := slices.Clone(metricCharts)
	var valKeys []string
	for _, run := range runs {
		for _, line := range run.Lines {
			for key := range line {
				if strings.HasPrefix(key, validationPrefix) && !slices.Contains(valKeys, key) {
					valKeys = append(valKeys, key)
				}
			}
		}
	}
	slices.SortFunc(valKeys, func(a, b string) int { return validationK(a) - validationK(b) })
	for _, key := range valKeys {
		k := strings.TrimPrefix(key, validationPrefix)
		charts = append(charts, chartSpec{key, "Validation Pass@" + k, "pass@" + k})
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
			for _, line := range run.Lines {
				step, hasStep := line["step"]
				v, ok := line[c.key]
				if hasStep && ok {
					pts = append(pts, plotter.XY{X: step, Y: v})
				}
			}
			if len(pts) == 0 {
				continue
			}
			drawn = true
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("chart %s, run %s: %w", c.key, run.Name, err)
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
		path := filepath.Join(dir, strings.ReplaceAll(c.key, "@", "_at_")+".png")
		if err := p.Save(ChartWidth, ChartHeight, path); err != nil {
			return nil, fmt.Errorf("chart %s: %w", c.key, err)
		}
		files = append(files, path)
	}
	return files, nil
}

// validationK returns the k of a validation key "val_pass@K", or 0 if K is not a number.
func validationK(key string) int {
	k, _ := strconv.Atoi(strings.TrimPrefix(key, validationPrefix))
	return k
}
