package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"ltecli/lte/verify"
)

// benchmarkDir finds ../shared/data/benchmarks beside the repository root (the folder
// holding go.mod).
func benchmarkDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	bench := filepath.Join(dir, "..", "shared", "data", "benchmarks")
	if _, err := os.Stat(bench); err != nil {
		t.Skipf("benchmark data not present: %v", err)
	}
	return bench
}

func TestLoadAllBenchmarks(t *testing.T) {
	all, err := LoadDir(benchmarkDir(t))
	if err != nil {
		t.Fatal(err)
	}
	// Row counts of the files as shipped.
	want := map[string]int{"math500": 500, "minerva": 272, "olympiadbench": 675, "amc23": 40, "aime24": 30, "aime25": 30}
	for name, n := range want {
		if got := len(all[name]); got != n {
			t.Errorf("%s: %d problems, want %d", name, got, n)
		}
	}
	// Spot checks against the files.
	spot := []struct {
		name string
		i    int
		id   string
		ans  string
	}{
		{"aime25", 0, "0", "70"},
		{"amc23", 0, "0", "27"},
		{"aime24", 0, "60", "204"},
		{"math500", 0, "test/precalculus/807.json", `\left( 3, \frac{\pi}{2} \right)`},
		{"minerva", 0, "0", "1.6"},
		{"olympiadbench", 13, "1664", "$69$,$84$"},
	}
	for _, s := range spot {
		p := all[s.name][s.i]
		if p.ID != s.id || p.Answer != s.ans {
			t.Errorf("%s[%d] = id %q answer %q, want id %q answer %q", s.name, s.i, p.ID, p.Answer, s.id, s.ans)
		}
	}
}

// Every gold answer must verify as correct against itself in a box: otherwise a model that
// answers exactly right would be marked wrong.
func TestGoldAnswersVerifyAgainstThemselves(t *testing.T) {
	all, err := LoadDir(benchmarkDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		for _, p := range all[name] {
			response := "Reasoning steps.\n\nThe final answer is $\\boxed{" + p.Answer + "}$."
			if v := verify.Verify(response, p.Answer); !v.Correct {
				t.Errorf("%s %s: gold %q against itself: %+v", name, p.ID, p.Answer, v)
			}
		}
	}
}

// MATH-500's reference solutions end in a box holding the gold answer, often written
// differently (\dfrac, spacing, units): each must verify as correct.
func TestMath500SolutionsVerify(t *testing.T) {
	dir := benchmarkDir(t)
	rows, err := readSolutions(filepath.Join(dir, "math500.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := Load(filepath.Join(dir, "math500.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range all {
		if v := verify.Verify(rows[i], p.Answer); !v.Correct {
			t.Errorf("%s: solution vs %q: %+v", p.ID, p.Answer, v)
		}
	}
}

func TestPythonStrings(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`['2']`, []string{"2"}, true},
		{`['$\\frac{1}{2}$', "x, y"]`, []string{`$\frac{1}{2}$`, "x, y"}, true},
		{`["it's"]`, []string{"it's"}, true},
		{`['a`, nil, false},
		{`'a'`, nil, false},
	}
	for i, c := range cases {
		got, err := pythonStrings(c.in)
		if (err == nil) != c.ok || len(got) != len(c.want) {
			t.Errorf("case %d: pythonStrings(%q) = %q, %v", i, c.in, got, err)
			continue
		}
		for j := range got {
			if got[j] != c.want[j] {
				t.Errorf("case %d: item %d = %q, want %q", i, j, got[j], c.want[j])
			}
		}
	}
}

func TestAnswerList(t *testing.T) {
	for i, c := range []struct{ raw, want string }{
		{`["2"]`, "2"},
		{`["$1$", "$2$"]`, "$1$, $2$"},
		{`"['3', '4']"`, "3, 4"},
	} {
		got, err := answerList([]byte(c.raw))
		if err != nil || got != c.want {
			t.Errorf("case %d: answerList(%s) = %q, %v; want %q", i, c.raw, got, err, c.want)
		}
	}
	if _, err := answerList([]byte(`[]`)); err == nil {
		t.Error("empty list accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for i, c := range []struct{ name, body string }{
		{"aime24.jsonl", "{\"id\": 1, \"problem\": \"q\", \"answer\": \"5\"}\nnot json\n"},
		{"aime24.jsonl", "{\"id\": 1, \"problem\": \"q\"}\n"},
		{"minerva.jsonl", "{\"problem\": \"q\", \"solution\": \"no box\"}\n"},
		{"unknown.jsonl", "{}\n"},
		{"amc23.jsonl", ""},
	} {
		if _, err := Load(write(c.name, c.body)); err == nil {
			t.Errorf("case %d: %s accepted", i, c.name)
		}
	}
	ps, err := Load(write("aime25.jsonl", "{\"id\": \"7\", \"question\": \"q\", \"answer\": 12.5}\n"))
	if err != nil || len(ps) != 1 || ps[0].Answer != "12.5" || ps[0].ID != "7" {
		t.Errorf("aime25 row = %+v, %v", ps, err)
	}
}

// readSolutions returns the solution field of every row of a JSON-lines file.
func readSolutions(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var row struct {
			Solution string `json:"solution"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, err
		}
		out = append(out, row.Solution)
	}
	return out, nil
}
