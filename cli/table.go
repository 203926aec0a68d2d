package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"ltecli/lte/eval"
)

// TableCmd prints the paper's results table for evaluated runs.
type TableCmd struct {
	Runs  []string `name:"run" required:"" sep:"none" help:"A row: NAME=DIR, where DIR holds results.json from ltecli eval (or is the file); repeat for more rows."`
	K     int      `name:"k" help:"The k of the Pass@k columns (0: the largest k every run reports)."`
	CSV   bool     `name:"csv" help:"Print CSV instead of Markdown."`
	Paper bool     `name:"paper" help:"Add the rows the LTE paper reports (Qwen3-8B-Base) for comparison."`
}

// Run reads each run's results and prints the table on stdout, values in percent.
func (c *TableCmd) Run() error {
	var runs []eval.NamedResults
	for _, spec := range c.Runs {
		name, path := eval.SplitRunSpec(spec)
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			path = filepath.Join(path, eval.ResultsFile)
		}
		res, err := eval.ReadResults(path)
		if err != nil {
			return fmt.Errorf("table: run %s: %w", name, err)
		}
		runs = append(runs, eval.NamedResults{Name: name, Results: res})
	}
	t := eval.NewTable(runs, c.K)
	if c.Paper {
		t.AddPaper()
	}
	if c.CSV {
		return t.WriteCSV(os.Stdout)
	}
	return t.WriteMarkdown(os.Stdout)
}
