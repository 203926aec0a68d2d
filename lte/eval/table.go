package eval

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tableColumns are the benchmark columns of the paper's table: the key in results.json and the
// title. "avg" is the average over benchmarks.
var tableColumns = []struct{ key, title string }{
	{"math500", "MATH500"}, {"minerva", "Minerva"}, {"olympiadbench", "Olympiad"},
	{"amc23", "AMC23"}, {"aime24", "AIME24"}, {"aime25", "AIME25"}, {"avg", "Avg"},
}

// TableRow is one row of the paper's table: Pass@1 and Pass@k in percent by column key
// ("math500", ..., "aime25", "avg"). A missing key is an empty cell.
type TableRow struct {
	Name  string
	Pass1 map[string]float64
	PassK map[string]float64
}

// PaperRows are the rows the LTE paper reports for Qwen3-8B-Base (percent). The paper gives
// Pass@1 and Pass@k averages and a few benchmarks' Pass@1; the other cells are empty.
var PaperRows = []TableRow{
	{Name: "GRPO (paper)", Pass1: map[string]float64{"avg": 43.99, "aime24": 22.08, "aime25": 15.83, "math500": 77.70}, PassK: map[string]float64{"avg": 56.82}},
	{Name: "GRPO-Extra (paper)", Pass1: map[string]float64{"avg": 41.72, "aime24": 22.29, "aime25": 14.79, "math500": 75.75}, PassK: map[string]float64{}},
	{Name: "LUFFY (paper)", Pass1: map[string]float64{"avg": 47.15, "aime24": 29.17, "aime25": 21.25, "math500": 80.20}, PassK: map[string]float64{"avg": 61.55}},
	{Name: "LTE (paper)", Pass1: map[string]float64{"avg": 49.01, "aime24": 30.62, "aime25": 27.29, "math500": 78.85}, PassK: map[string]float64{"avg": 66.78}},
	{Name: "LTE-dagger (paper)", Pass1: map[string]float64{"avg": 49.56, "aime24": 30.83, "aime25": 25.83, "math500": 79.80}, PassK: map[string]float64{"avg": 67.58}},
}

// Table is the paper's results table: one row per run, Pass@1 and Pass@K for each benchmark
// and their average. K 0 means no Pass@k is known for any run.
type Table struct {
	K     int
	Rows  []TableRow
	Paper bool // rows from PaperRows are included: the Markdown form notes their source
}

// NamedResults are one run's results under the name its table row shows.
type NamedResults struct {
	Name    string
	Results Results
}

// ReadResults reads a results.json.
func ReadResults(path string) (Results, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Results{}, err
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return Results{}, fmt.Errorf("%s: not a results file: %w", path, err)
	}
	return r, nil
}

// NewTable lays runs out in the paper's table with Pass@k at k; k 0 picks the largest k > 1
// that every run's average reports. A run's Avg cells are its results' average (the mean over
// the benchmarks it evaluated).
func NewTable(runs []NamedResults, k int) Table {
	if k == 0 {
		k = commonK(runs)
	}
	t := Table{K: k}
	for _, run := range runs {
		row := TableRow{Name: run.Name, Pass1: map[string]float64{}, PassK: map[string]float64{}}
		put := func(key string, pass PassRates) {
			if v, ok := pass[1]; ok {
				row.Pass1[key] = 100 * v
			}
			if v, ok := pass[k]; ok && k > 0 {
				row.PassK[key] = 100 * v
			}
		}
		for _, col := range tableColumns {
			if br, ok := run.Results.Benchmarks[col.key]; ok {
				put(col.key, br.Pass)
			}
		}
		put("avg", run.Results.Average)
		t.Rows = append(t.Rows, row)
	}
	return t
}

// commonK returns the largest k > 1 in the average of every run, or 0 when there is none.
func commonK(runs []NamedResults) int {
	best := 0
	if len(runs) == 0 {
		return best
	}
	for _, k := range runs[0].Results.Average.Ks() {
		inAll := k > 1
		for _, run := range runs[1:] {
			if _, ok := run.Results.Average[k]; !ok {
				inAll = false
			}
		}
		if inAll {
			best = k
		}
	}
	return best
}

// AddPaper appends the paper's reported rows.
func (t *Table) AddPaper() {
	t.Rows = append(t.Rows, PaperRows...)
	t.Paper = true
}

// header returns the column titles.
func (t Table) header() []string {
	k := "k"
	if t.K > 0 {
		k = strconv.Itoa(t.K)
	}
	h := []string{"Run"}
	for _, col := range tableColumns {
		h = append(h, col.title+" Pass@1", col.title+" Pass@"+k)
	}
	return h
}

// cells returns the rows as text: percent with two decimals, "" where a value is missing.
func (t Table) cells() [][]string {
	format := func(m map[string]float64, key string) string {
		v, ok := m[key]
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	var out [][]string
	for _, row := range t.Rows {
		line := []string{row.Name}
		for _, col := range tableColumns {
			line = append(line, format(row.Pass1, col.key), format(row.PassK, col.key))
		}
		out = append(out, line)
	}
	return out
}

// WriteMarkdown prints the table as a Markdown table, numbers right-aligned.
func (t Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	header := t.header()
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|---|")
	b.WriteString(strings.Repeat("---:|", len(header)-1) + "\n")
	for _, line := range t.cells() {
		b.WriteString("| " + strings.Join(line, " | ") + " |\n")
	}
	if t.Paper {
		b.WriteString("\nRows marked (paper): Qwen3-8B-Base as reported in the LTE paper (arXiv 2510.26109), Pass@k at the paper's k; empty cells are not reported there.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV prints the table as CSV with a header line.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header()); err != nil {
		return err
	}
	if err := cw.WriteAll(t.cells()); err != nil {
		return err
	}
	return cw.Error()
}

// SplitRunSpec splits a command-line run "NAME=DIR" into its name and folder; a bare DIR is
// named after its last element.
func SplitRunSpec(spec string) (name, dir string) {
	if name, dir, ok := strings.Cut(spec, "="); ok && name != "" {
		return name, dir
	}
	return filepath.Base(filepath.Clean(spec)), spec
}
