package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"ltecli/lte"
	"ltecli/lte/eval"
)

// printConfig writes the resolved configuration at the start of a run.
func printConfig(w io.Writer, cfg any) {
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	fmt.Fprintf(w, "resolved config:\n%s\n", raw)
}

// progress shows a bar with ETA and the main metrics on a terminal, plain lines otherwise.
type progress struct {
	w          io.Writer
	name       string
	total      int
	first      int
	start      time.Time
	isTerminal bool
}

func newProgress(w *os.File, name string, total, first int) *progress {
	return &progress{w: w, name: name, total: total, first: first, start: time.Now(), isTerminal: term.IsTerminal(int(w.Fd()))}
}

func (p *progress) update(step int, m *lte.Metrics) {
	done := step - p.first
	eta := time.Duration(0)
	if done > 0 {
		eta = time.Duration(float64(time.Since(p.start)) / float64(done) * float64(p.total-step))
	}
	line := fmt.Sprintf("%s step %d/%d", p.name, step, p.total)
	if loss, ok := m.Loss(); ok {
		line += fmt.Sprintf("  loss %.4f", loss)
	}
	if r := m.Rollouts; r != nil {
		line += fmt.Sprintf("  reward %.3f  none-pass %d", r.RewardMean, r.NonePass)
	}
	if m.Hints != nil {
		line += fmt.Sprintf("  rescued %d", m.Hints.RescuedGroups)
	}
	if r := m.Rollouts; r != nil {
		line += fmt.Sprintf("  len %.1f", r.ResponseLenMean)
	}
	if s, ok := m.StepTime(); ok {
		line += fmt.Sprintf("  s/step %.2f", s)
	}
	line += fmt.Sprintf("  eta %s", eta.Round(time.Second))
	if !p.isTerminal {
		fmt.Fprintln(p.w, line)
		return
	}
	width := 20
	filled := width * step / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat(".", width-filled), line)
}

func (p *progress) done() {
	if p.isTerminal {
		fmt.Fprintln(p.w)
	}
}

// runSummary is one algorithm's line of the comparison table, read back from its own files.
type runSummary struct {
	Name string
	Dir  string
	Wall time.Duration
}

// readMetrics loads a run's metrics.jsonl.
func readMetrics(dir string) ([]lte.Metrics, error) {
	return eval.ReadMetrics(filepath.Join(dir, lte.MetricsFile))
}

// firstLast returns the first and last values of a metric among the lines that have it.
func firstLast(ms []lte.Metrics, value func(*lte.Metrics) (float64, bool)) (first, last float64, ok bool) {
	for i := range ms {
		v, has := value(&ms[i])
		if !has {
			continue
		}
		if !ok {
			first, ok = v, true
		}
		last = v
	}
	return first, last, ok
}

// comparisonRow is one run's numbers of the comparison table: none-pass share of the training
// problems, validation Pass@1 and the largest validation Pass@k, each at the start and the end
// (NaN when the run did not record it).
type comparisonRow struct {
	values [6]float64
	kLabel string // "pass@K" of the last two values
	wall   time.Duration
}

// comparisonHeader names the columns of a comparisonRow.
const comparisonHeader = "none-pass (train) start | end | val pass@1 before | after | val pass@k before | after | wall"

// readComparisonRow reads a run's row from its own metrics.jsonl.
func readComparisonRow(r runSummary) (comparisonRow, error) {
	ms, err := readMetrics(r.Dir)
	if err != nil {
		return comparisonRow{}, err
	}
	row := comparisonRow{wall: r.Wall}
	bestK := 1
	if ks := lte.ValidationKs(ms); len(ks) > 0 {
		bestK = max(bestK, ks[len(ks)-1])
	}
	row.kLabel = fmt.Sprintf("pass@%d", bestK)
	validation := func(k int) func(*lte.Metrics) (float64, bool) {
		return func(m *lte.Metrics) (float64, bool) {
			v, ok := m.Validation[k]
			return v, ok
		}
	}
	trainNonePass := func(m *lte.Metrics) (float64, bool) {
		if m.TrainNonePass == nil {
			return 0, false
		}
		return *m.TrainNonePass, true
	}
	for i, value := range []func(*lte.Metrics) (float64, bool){trainNonePass, validation(1), validation(bestK)} {
		a, b, ok := firstLast(ms, value)
		if !ok {
			a, b = math.NaN(), math.NaN()
		}
		row.values[2*i], row.values[2*i+1] = a, b
	}
	return row, nil
}

func cell3(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

// printComparison writes the side-by-side table of runs, every number read from the runs'
// own metrics.jsonl.
func printComparison(w io.Writer, runs []runSummary) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| algorithm | "+comparisonHeader+" |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range runs {
		row, err := readComparisonRow(r)
		if err != nil {
			fmt.Fprintf(w, "| %s | %v |\n", r.Name, err)
			continue
		}
		v := row.values
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s (%s) | %s | %s |\n", r.Name, cell3(v[0]), cell3(v[1]), cell3(v[2]), cell3(v[3]),
			cell3(v[4]), row.kLabel, cell3(v[5]), row.wall.Round(time.Second))
	}
	fmt.Fprintln(w)
}

// meanSD returns the mean and the sample standard deviation (n - 1) of xs, NaN entries left
// out; the deviation is NaN with fewer than two values.
func meanSD(xs []float64) (mean, sd float64, n int) {
	var sum float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	mean = sum / float64(n)
	if n < 2 {
		return mean, math.NaN(), n
	}
	var ss float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ss += (x - mean) * (x - mean)
		}
	}
	return mean, math.Sqrt(ss / float64(n-1)), n
}

// printSeedComparison writes the comparison over several seeds: for each algorithm (runs[a]
// holds its run of every seed) each column's mean and sample standard deviation over the
// seeds, every number read from the runs' own metrics.jsonl.
func printSeedComparison(w io.Writer, algos []string, seeds []uint64, runs [][]runSummary) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "mean ± sample standard deviation over %d seeds (%s)\n\n", len(seeds), joinSeeds(seeds))
	fmt.Fprintln(w, "| algorithm | "+comparisonHeader+" |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for a, name := range algos {
		var cols [6][]float64
		var walls []float64
		kLabel := ""
		for _, r := range runs[a] {
			row, err := readComparisonRow(r)
			if err != nil {
				fmt.Fprintf(w, "| %s | %s: %v |\n", name, r.Dir, err)
				continue
			}
			for i, v := range row.values {
				cols[i] = append(cols[i], v)
			}
			walls = append(walls, row.wall.Seconds())
			if kLabel == "" || kLabel == row.kLabel {
				kLabel = row.kLabel
			} else {
				kLabel = "pass@k"
			}
		}
		cells := make([]string, 6)
		for i := range cols {
			mean, sd, n := meanSD(cols[i])
			switch {
			case n == 0:
				cells[i] = "-"
			case n < 2:
				cells[i] = cell3(mean)
			default:
				cells[i] = fmt.Sprintf("%.3f ± %.3f", mean, sd)
			}
		}
		wall, wallSD, _ := meanSD(walls)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s (%s) | %s | %.0fs ± %.0fs |\n", name, cells[0], cells[1], cells[2], cells[3], cells[4], kLabel, cells[5], wall, wallSD)
	}
	fmt.Fprintln(w)
}

func joinSeeds(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, ", ")
}
