package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// PassAtK returns the unbiased estimate of pass@k for a problem with c correct samples of n:
// 1 - C(n-c, k) / C(n, k), the chance that k of the n samples, drawn without replacement,
// include a correct one. It is computed as 1 - prod_{i=n-c+1..n} (1 - k/i), a product of c
// factors in (0, 1], so no binomial coefficient is ever formed and large n lose no precision.
//
// PassAtK panics unless 0 <= c <= n and 1 <= k <= n: pass@k is not defined by fewer than k
// samples. Aggregate checks these bounds and never panics.
func PassAtK(n, c, k int) float64 {
	if c < 0 || c > n || k < 1 || k > n {
		panic(fmt.Sprintf("eval: PassAtK(n=%d, c=%d, k=%d) needs 0 <= c <= n and 1 <= k <= n", n, c, k))
	}
	if n-c < k {
		return 1 // every k-subset holds a correct sample
	}
	none := 1.0 // C(n-c, k) / C(n, k)
	for i := n - c + 1; i <= n; i++ {
		none *= 1 - float64(k)/float64(i)
	}
	return 1 - none
}

// Tally is the verification count of one problem: Correct of its Samples were verified
// correct.
type Tally struct {
	Benchmark string
	ID        string
	Samples   int
	Correct   int
}

// PassRates maps k to a pass@k value, a fraction in [0, 1]. Its JSON form is an object with
// keys "pass@K" in increasing K.
type PassRates map[int]float64

// Ks returns the k of r in increasing order.
func (r PassRates) Ks() []int {
	ks := make([]int, 0, len(r))
	for k := range r {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// MarshalJSON writes {"pass@1": x, "pass@4": y, ...}.
func (r PassRates) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if err := r.appendFields(&b); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// appendFields writes the "pass@K": value members of r, comma-separated.
func (r PassRates) appendFields(b *bytes.Buffer) error {
	for i, k := range r.Ks() {
		v, err := json.Marshal(r[k])
		if err != nil {
			return fmt.Errorf("pass@%d: %w", k, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, `"pass@%d":%s`, k, v)
	}
	return nil
}

// UnmarshalJSON reads the "pass@K" members of an object and ignores the others.
func (r *PassRates) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	*r = PassRates{}
	return r.readFields(fields)
}

// readFields fills r from the "pass@K" members of fields.
func (r PassRates) readFields(fields map[string]json.RawMessage) error {
	for key, raw := range fields {
		rest, ok := strings.CutPrefix(key, "pass@")
		if !ok {
			continue
		}
		k, err := strconv.Atoi(rest)
		if err != nil || k < 1 {
			return fmt.Errorf("%q is not pass@K with K a positive integer", key)
		}
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		r[k] = v
	}
	return nil
}

// BenchmarkResult is the score of one benchmark. Pass@1 is the mean over problems of the
// fraction of correct samples; Pass@k the mean over problems of PassAtK(n_i, c_i, k), each
// problem with its own sample count n_i. N is the fewest samples any problem has, so every
// reported k is at most N.
type BenchmarkResult struct {
	Problems int
	N        int
	Pass     PassRates
}

// MarshalJSON writes {"problems": P, "n": N, "pass@1": x, "pass@K": y, ...}.
func (r BenchmarkResult) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"problems":%d,"n":%d`, r.Problems, r.N)
	if len(r.Pass) > 0 {
		b.WriteByte(',')
		if err := r.Pass.appendFields(&b); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (r *BenchmarkResult) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	*r = BenchmarkResult{Pass: PassRates{}}
	for key, dst := range map[string]*int{"problems": &r.Problems, "n": &r.N} {
		if raw, ok := fields[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return r.Pass.readFields(fields)
}

// Results are the scores of an evaluation; their JSON form is results.json:
//
//	{"benchmarks": {NAME: {"problems": P, "n": N, "pass@1": x, "pass@K": y, ...}},
//	 "average": {"pass@1": ..., "pass@K": ...}}
//
// Average holds, for each k that every benchmark reports, the mean over benchmarks.
type Results struct {
	Benchmarks map[string]BenchmarkResult `json:"benchmarks"`
	Average    PassRates                  `json:"average"`
}

// Names returns the benchmark names in sorted order.
func (r Results) Names() []string {
	names := make([]string, 0, len(r.Benchmarks))
	for name := range r.Benchmarks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Aggregate scores tallies per benchmark for pass@1 and each k of ks. A benchmark reports
// pass@k only for k no larger than its N (the fewest samples of its problems); LeftOut names
// the others. Sums run in the order of tallies, so the same tallies give the same bits.
func Aggregate(tallies []Tally, ks []int) (Results, error) {
	for _, k := range ks {
		if k < 1 {
			return Results{}, fmt.Errorf("pass@k needs k >= 1, got %d", k)
		}
	}
	ks = append([]int{1}, ks...)
	slices.Sort(ks)
	ks = slices.Compact(ks)

	byBench := map[string][]Tally{}
	for _, t := range tallies {
		if t.Samples < 1 || t.Correct < 0 || t.Correct > t.Samples {
			return Results{}, fmt.Errorf("benchmark %s problem %s: %d correct of %d samples", t.Benchmark, t.ID, t.Correct, t.Samples)
		}
		byBench[t.Benchmark] = append(byBench[t.Benchmark], t)
	}
	res := Results{Benchmarks: map[string]BenchmarkResult{}, Average: PassRates{}}
	for name, ts := range byBench {
		n := ts[0].Samples
		for _, t := range ts {
			n = min(n, t.Samples)
		}
		br := BenchmarkResult{Problems: len(ts), N: n, Pass: PassRates{}}
		for _, k := range ks {
			if k > n {
				break
			}
			sum := 0.0
			for _, t := range ts {
				if k == 1 {
					sum += float64(t.Correct) / float64(t.Samples) // exact mean accuracy
				} else {
					sum += PassAtK(t.Samples, t.Correct, k)
				}
			}
			br.Pass[k] = sum / float64(len(ts))
		}
		res.Benchmarks[name] = br
	}
	names := res.Names()
	for _, k := range ks {
		sum, everyBenchmark := 0.0, len(names) > 0
		for _, name := range names {
			v, ok := res.Benchmarks[name].Pass[k]
			if !ok {
				everyBenchmark = false
				break
			}
			sum += v
		}
		if everyBenchmark {
			res.Average[k] = sum / float64(len(names))
		}
	}
	return res, nil
}

// LeftOut describes each k of ks that a benchmark of r does not report because its problems
// have fewer than k samples, one sentence per benchmark.
func (r Results) LeftOut(ks []int) []string {
	var notes []string
	for _, name := range r.Names() {
		br := r.Benchmarks[name]
		var missing []string
		for _, k := range ks {
			if _, ok := br.Pass[k]; !ok {
				missing = append(missing, "pass@"+strconv.Itoa(k))
			}
		}
		if len(missing) > 0 {
			notes = append(notes, fmt.Sprintf("%s: %s left out: its problems have as few as %d samples",
				name, strings.Join(missing, ", "), br.N))
		}
	}
	return notes
}

// WriteText prints r as an aligned table, values in percent with two decimals.
func (r Results) WriteText(w io.Writer) error {
	ks := map[int]bool{}
	for _, br := range r.Benchmarks {
		for k := range br.Pass {
			ks[k] = true
		}
	}
	cols := make([]int, 0, len(ks))
	for k := range ks {
		cols = append(cols, k)
	}
	slices.Sort(cols)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) {
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	header := []string{"benchmark", "problems", "n"}
	for _, k := range cols {
		header = append(header, "pass@"+strconv.Itoa(k))
	}
	row(header...)
	rates := func(pass PassRates) []string {
		var cells []string
		for _, k := range cols {
			if v, ok := pass[k]; ok {
				cells = append(cells, strconv.FormatFloat(100*v, 'f', 2, 64))
			} else {
				cells = append(cells, "-")
			}
		}
		return cells
	}
	for _, name := range r.Names() {
		br := r.Benchmarks[name]
		row(append([]string{name, strconv.Itoa(br.Problems), strconv.Itoa(br.N)}, rates(br.Pass)...)...)
	}
	row(append([]string{"average", "", ""}, rates(r.Average)...)...)
	return tw.Flush()
}
