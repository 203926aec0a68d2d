package cli

import (
	"fmt"
	"path/filepath"

	"ltecli/lte"
	"ltecli/lte/eval"
)

// PlotCmd draws the training curves of runs as PNG charts.
type PlotCmd struct {
	Runs []string `arg:"" name:"run-dir" help:"Run folders holding metrics.jsonl, as DIR or NAME=DIR (NAME labels the run in the legend)."`
	Out  string   `name:"out" default:"plots" type:"path" help:"Folder for the PNG files."`
}

// Run reads each run's metrics.jsonl, writes one chart per metric and prints their paths.
func (c *PlotCmd) Run() error {
	var runs []eval.RunMetrics
	for _, spec := range c.Runs {
		name, dir := eval.SplitRunSpec(spec)
		lines, err := eval.ReadMetrics(filepath.Join(dir, lte.MetricsFile))
		if err != nil {
			return fmt.Errorf("plot: run %s: %w", name, err)
		}
		runs = append(runs, eval.RunMetrics{Name: name, Lines: lines})
	}
	files, err := eval.PlotMetrics(runs, c.Out)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("plot: no run has a metric to draw (looked for step with none_pass, some_pass, all_pass, reward_mean, entropy, response_len_mean, val_pass@K)")
	}
	for _, f := range files {
		fmt.Println(f)
	}
	return nil
}
