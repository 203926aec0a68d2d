package lte

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"ltecli/lte/verify"
)

// benchmarksDir is ../shared/data/benchmarks beside the repository.
func benchmarksDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "data", "benchmarks")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("benchmarks not found beside the repository: %v", err)
	}
	return dir
}

func TestLoadBenchmarkFormats(t *testing.T) {
	dir := benchmarksDir(t)
	cases := []struct {
		file  string
		count int
		check func(p Problem) bool
	}{
		{"math500.jsonl", 500, func(p Problem) bool { return p.ID != "" }},
		{"aime24.jsonl", 30, nil},
		{"aime25.jsonl", 30, func(p Problem) bool { return !strings.HasSuffix(p.Answer, ".0") }},
		{"amc23.jsonl", 40, nil},
		{"minerva.jsonl", 272, nil},
		{"olympiadbench.jsonl", 675, func(p Problem) bool { return !strings.HasPrefix(p.Answer, "['") && !strings.Contains(p.Answer, "$") }},
	}
	for i, c := range cases {
		ps, err := LoadProblems(filepath.Join(dir, c.file), Fields{})
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.file, err)
		}
		if len(ps) != c.count {
			t.Errorf("case %d (%s): %d problems, want %d", i, c.file, len(ps), c.count)
		}
		for _, p := range ps {
			if p.Question == "" || p.Answer == "" || (c.check != nil && !c.check(p)) {
				t.Errorf("case %d (%s): bad problem %+v", i, c.file, p)
				break
			}
		}
	}
}

type verlMessage struct {
	Role    string `parquet:"role"`
	Content string `parquet:"content"`
}
type verlReward struct {
	GroundTruth string `parquet:"ground_truth"`
	Style       string `parquet:"style"`
}
type verlRow struct {
	DataSource  string        `parquet:"data_source"`
	Prompt      []verlMessage `parquet:"prompt,list"`
	RewardModel verlReward    `parquet:"reward_model"`
}

func TestLoadVerlParquetAndErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.parquet")
	rows := []verlRow{
		{"openr1", []verlMessage{{"system", "Be careful."}, {"user", "What is 6*7?"}}, verlReward{"42", "rule"}},
		{"openr1", []verlMessage{{"user", "What is 1+1?"}}, verlReward{"2", "rule"}},
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	ps, err := LoadProblems(path, Fields{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Question != "What is 6*7?" || ps[0].Answer != "42" || len(ps[0].Messages) != 2 || ps[0].Source != "openr1" {
		t.Fatalf("verl rows read as %+v", ps)
	}
	bad := []struct{ body, want string }{
		{"{\"problem\": \"x\", \"answer\": \"1\"}\n{\"problem\": \"y\"}\n", ":2: no answer"},
		{"{\"problem\": \"x\", \"answer\": \"1\"}\nnot json\n", ":2: not a JSON object"},
		{"{\"problem\": \"x\", \"answer\": \"1\"}\n\n  \n{\"problem\": \"y\"}\n", ":4: no answer"}, // blank lines are skipped, and counted
		{"\n \n", "no problems"},
		{"", "no problems"},
		{"{\"text\": \"x\", \"answer\": \"1\"}\n", ":1: no question"},
	}
	for i, c := range bad {
		p := filepath.Join(dir, "bad.jsonl")
		os.WriteFile(p, []byte(c.body), 0o644)
		if _, err := LoadProblems(p, Fields{}); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("case %d: error %v, want one naming the file and %q", i, err, c.want)
		}
	}
	custom := filepath.Join(dir, "custom.jsonl")
	os.WriteFile(custom, []byte(`{"q": "2+2?", "a": 4}`+"\n"), 0o644)
	ps, err = LoadProblems(custom, Fields{Question: "q", Answer: "a"})
	if err != nil || ps[0].Answer != "4" {
		t.Fatalf("custom fields: %+v %v", ps, err)
	}
	if _, err := LoadProblems(filepath.Join(dir, "missing.jsonl"), Fields{}); err == nil {
		t.Error("missing file accepted")
	}
}

func TestEpochOrderDeterministic(t *testing.T) {
	a, b, c := EpochOrder(50, 1, 0), EpochOrder(50, 1, 0), EpochOrder(50, 1, 1)
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed and epoch gave different orders")
		}
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("epochs share one order")
	}
}

// Every gold answer must verify as correct against itself in a box: otherwise a model that
// answers exactly right would be marked wrong.
func TestGoldAnswersVerifyAgainstThemselves(t *testing.T) {
	dir := benchmarksDir(t)
	for _, name := range []string{"math500", "minerva", "olympiadbench", "amc23", "aime24", "aime25"} {
		ps, err := LoadProblems(filepath.Join(dir, name+".jsonl"), Fields{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
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
	path := filepath.Join(benchmarksDir(t), "math500.jsonl")
	ps, err := LoadProblems(path, Fields{})
	if err != nil {
		t.Fatal(err)
	}
	sols, err := LoadProblems(path, Fields{Answer: "solution"})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if v := verify.Verify(sols[i].Answer, p.Answer); !v.Correct {
			t.Errorf("%s: solution vs %q: %+v", p.ID, p.Answer, v)
		}
	}
}

func TestPythonListAnswers(t *testing.T) {
	for i, c := range []struct {
		raw  any
		want string
	}{
		{`['2']`, "2"},
		{`['$\\frac{1}{2}$', "x, y"]`, `\frac{1}{2}, x, y`},
		{`["it's"]`, "it's"},
		{`['$69$,$84$']`, "69,84"},
		{[]any{"$1$", "$2$"}, "1, 2"},
		{"7", "7"},
	} {
		if got, err := listAnswer(c.raw); err != nil || got != c.want {
			t.Errorf("case %d: listAnswer(%v) = %q, %v; want %q", i, c.raw, got, err, c.want)
		}
	}
}
