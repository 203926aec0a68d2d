package eval

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// fixtureRuns: "base" evaluated all six benchmarks with pass@1, 4, 16; "lte" all but Minerva
// with pass@1 and 4 only.
func fixtureRuns() []NamedResults {
	bench := func(p1, p4, p16 float64) BenchmarkResult {
		pass := PassRates{1: p1, 4: p4}
		if p16 >= 0 {
			pass[16] = p16
		}
		return BenchmarkResult{Problems: 30, N: 16, Pass: pass}
	}
	base := Results{Benchmarks: map[string]BenchmarkResult{
		"math500": bench(0.7, 0.8, 0.9), "minerva": bench(0.3, 0.4, 0.5), "olympiadbench": bench(0.4, 0.5, 0.6),
		"amc23": bench(0.5, 0.6, 0.7), "aime24": bench(0.1, 0.2, 0.3), "aime25": bench(0.05, 0.15, 0.25),
	}, Average: PassRates{1: 0.34166666666666667, 4: 0.44166666666666667, 16: 0.54166666666666667}}
	lte := Results{Benchmarks: map[string]BenchmarkResult{
		"math500": bench(0.78855, 0.9, -1), "olympiadbench": bench(0.45, 0.55, -1),
		"amc23": bench(0.6, 0.7, -1), "aime24": bench(0.30625, 0.4, -1), "aime25": bench(0.2729, 0.35, -1),
	}, Average: PassRates{1: 0.48353, 4: 0.58}}
	return []NamedResults{{"base", base}, {"lte", lte}}
}

func TestTableMarkdown(t *testing.T) {
	tab := NewTable(fixtureRuns(), 0)
	if tab.K != 4 {
		t.Fatalf("k = %d, want 4 (the largest both runs report)", tab.K)
	}
	var b strings.Builder
	if err := tab.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"| Run | MATH500 Pass@1 | MATH500 Pass@4 | Minerva Pass@1 | Minerva Pass@4 | Olympiad Pass@1 | Olympiad Pass@4 | AMC23 Pass@1 | AMC23 Pass@4 | AIME24 Pass@1 | AIME24 Pass@4 | AIME25 Pass@1 | AIME25 Pass@4 | Avg Pass@1 | Avg Pass@4 |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
		"| base | 70.00 | 80.00 | 30.00 | 40.00 | 40.00 | 50.00 | 50.00 | 60.00 | 10.00 | 20.00 | 5.00 | 15.00 | 34.17 | 44.17 |\n" +
		"| lte | 78.86 | 90.00 |  |  | 45.00 | 55.00 | 60.00 | 70.00 | 30.63 | 40.00 | 27.29 | 35.00 | 48.35 | 58.00 |\n"
	if b.String() != want {
		t.Errorf("markdown\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTableCSVWithPaper(t *testing.T) {
	tab := NewTable(fixtureRuns()[:1], 0)
	tab.AddPaper()
	var b strings.Builder
	if err := tab.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"Run,MATH500 Pass@1,MATH500 Pass@16,Minerva Pass@1,Minerva Pass@16,Olympiad Pass@1,Olympiad Pass@16,AMC23 Pass@1,AMC23 Pass@16,AIME24 Pass@1,AIME24 Pass@16,AIME25 Pass@1,AIME25 Pass@16,Avg Pass@1,Avg Pass@16\n" +
		"base,70.00,90.00,30.00,50.00,40.00,60.00,50.00,70.00,10.00,30.00,5.00,25.00,34.17,54.17\n" +
		"GRPO (paper),77.70,,,,,,,,22.08,,15.83,,43.99,56.82\n" +
		"GRPO-Extra (paper),75.75,,,,,,,,22.29,,14.79,,41.72,\n" +
		"LUFFY (paper),80.20,,,,,,,,29.17,,21.25,,47.15,61.55\n" +
		"LTE (paper),78.85,,,,,,,,30.62,,27.29,,49.01,66.78\n" +
		"LTE-dagger (paper),79.80,,,,,,,,30.83,,25.83,,49.56,67.58\n"
	if b.String() != want {
		t.Errorf("csv\n%s\nwant\n%s", b.String(), want)
	}
	var md strings.Builder
	tab.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "Rows marked (paper)") {
		t.Errorf("markdown with paper rows lacks their note:\n%s", md.String())
	}
}

// TestPaperRowsMatchLTE compares PaperRows with the table of ../shared/LTE.md.
func TestPaperRowsMatchLTE(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "LTE.md")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("LTE.md not beside the repository: %v", err)
	}
	defer f.Close()
	// | method | Pass@1 avg | Pass@k avg | AIME24 P@1 | AIME25 P@1 | MATH500 P@1 |
	names := map[string]string{"GRPO": "GRPO (paper)", "GRPO-Extra": "GRPO-Extra (paper)", "LUFFY (gold solutions)": "LUFFY (paper)", "LTE": "LTE (paper)", "LTE-dagger": "LTE-dagger (paper)"}
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(strings.Trim(sc.Text(), "|"), "|")
		if len(cells) != 6 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name, ok := names[cells[0]]
		if !ok {
			continue
		}
		var row TableRow
		for _, r := range PaperRows {
			if r.Name == name {
				row = r
			}
		}
		found++
		for i, cell := range []struct {
			m   map[string]float64
			key string
		}{{row.Pass1, "avg"}, {row.PassK, "avg"}, {row.Pass1, "aime24"}, {row.Pass1, "aime25"}, {row.Pass1, "math500"}} {
			v, has := cell.m[cell.key]
			text := cells[i+1]
			if text == "" {
				if has {
					t.Errorf("%s column %d: LTE.md reports nothing, PaperRows %g", name, i+1, v)
				}
				continue
			}
			want, err := strconv.ParseFloat(text, 64)
			if err != nil || !has || v != want {
				t.Errorf("%s column %d: LTE.md %q, PaperRows %g (present %v)", name, i+1, text, v, has)
			}
		}
	}
	if found != len(PaperRows) {
		t.Errorf("found %d of %d paper rows in %s", found, len(PaperRows), path)
	}
}

func TestReadResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(path, []byte(`{"benchmarks": {"aime24": {"problems": 30, "n": 8, "pass@1": 0.25, "pass@8": 0.5}}, "average": {"pass@1": 0.25, "pass@8": 0.5}}`), 0o644)
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.Benchmarks["aime24"]; b.Problems != 30 || b.N != 8 || b.Pass[1] != 0.25 || b.Pass[8] != 0.5 || r.Average[8] != 0.5 {
		t.Errorf("read %+v", r)
	}
	os.WriteFile(path, []byte(`{"benchmarks": {"aime24": {"pass@x": 1}}}`), 0o644)
	if _, err := ReadResults(path); err == nil {
		t.Error("pass@x accepted")
	}
}

func TestSplitRunSpec(t *testing.T) {
	for i, tc := range []struct{ spec, name, dir string }{
		{"lte=runs/a", "lte", "runs/a"}, {"runs/grpo/", "grpo", "runs/grpo/"}, {"a=b=c", "a", "b=c"},
	} {
		if name, dir := SplitRunSpec(tc.spec); name != tc.name || dir != tc.dir {
			t.Errorf("case %d: SplitRunSpec(%q) = %q, %q; want %q, %q", i, tc.spec, name, dir, tc.name, tc.dir)
		}
	}
}
