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

func (p *progress) update(step int, m lte.Metrics) {
	done := step - p.first
	eta := time.Duration(0)
	if done > 0 {
		eta = time.Duration(float64(time.Since(p.start)) / float64(done) * float64(p.total-step))
	}
	line := fmt.Sprintf("%s step %d/%d", p.name, step, p.total)
	for _, f := range progressFields {
		if v, ok := m[f.key]; ok && v != nil {
			line += fmt.Sprintf("  %s %s", f.label, f.format(v))
		}
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

// progressFields are the metrics a progress line shows when a step has them.
var progressFields = []struct {
	key, label string
	format     func(any) string
}{
	{"loss", "loss", fixed(4)},
	{"reward_mean", "reward", fixed(3)},
	{"none_pass", "none-pass", plain},
	{"rescued_groups", "rescued", plain},
	{"response_len_mean", "len", fixed(1)},
	{"time_step_s", "s/step", fixed(2)},
}

func fixed(digits int) func(any) string {
	return func(v any) string { return strconv.FormatFloat(num(v), 'f', digits, 64) }
}

func plain(v any) string { return fmt.Sprint(v) }

func (p *progress) done() {
	if p.isTerminal {
		fmt.Fprintln(p.w)
	}
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return math.NaN()
}

// runSummary is one algorithm's line of the comparison table, read back from its own files.
type runSummary struct {
	Name string
	Dir  string
	Wall time.Duration
}

// readMetrics loads the numbers of a run's metrics.jsonl.
func readMetrics(dir string) ([]map[string]float64, error) {
	return eval.ReadMetrics(filepath.Join(dir, lte.MetricsFile))
}

// firstLast returns the first and last values of key among the metrics lines that have it.
func firstLast(ms []map[string]float64, key string) (first, last float64, ok bool) {
	for _, m := range ms {
		v, has := m[key]
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

// printComparison writes the side-by-side table of runs, every number read from the runs'
// own metrics.jsonl.
func printComparison(w io.Writer, runs []runSummary) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| algorithm | none-pass (train) start | end | val pass@1 before | after | val pass@k before | after | wall |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range runs {
		ms, err := readMetrics(r.Dir)
		if err != nil {
			fmt.Fprintf(w, "| %s | %v |\n", r.Name, err)
			continue
		}
		cell := func(key string) (string, string) {
			a, b, ok := firstLast(ms, key)
			if !ok {
				return "-", "-"
			}
			return fmt.Sprintf("%.3f", a), fmt.Sprintf("%.3f", b)
		}
		np0, np1 := cell("train_none_pass")
		p10, p11 := cell("val_pass@1")
		kKey, bestK := "val_pass@1", 1
		for _, m := range ms {
			for key := range m {
				if k, err := strconv.Atoi(strings.TrimPrefix(key, "val_pass@")); err == nil && strings.HasPrefix(key, "val_pass@") && k > bestK {
					kKey, bestK = key, k
				}
			}
		}
		pk0, pk1 := cell(kKey)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s (%s) | %s | %s |\n", r.Name, np0, np1, p10, p11, pk0, strings.TrimPrefix(kKey, "val_"), pk1, r.Wall.Round(time.Second))
	}
	fmt.Fprintln(w)
}
