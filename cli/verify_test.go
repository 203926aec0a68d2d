package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func runVerifyLines(t *testing.T, input string, workers int) ([]verifyOutput, error) {
	t.Helper()
	var buf bytes.Buffer
	out := bufio.NewWriter(&buf)
	err := verifyLines(strings.NewReader(input), out, workers)
	if flushErr := out.Flush(); flushErr != nil {
		t.Fatal(flushErr)
	}
	var results []verifyOutput
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var v verifyOutput
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("output is not JSON lines: %v", err)
		}
		results = append(results, v)
	}
	return results, err
}

func TestVerifyLinesKeepsOrder(t *testing.T) {
	// Many lines on several workers: the i-th output must answer the i-th input.
	var in strings.Builder
	const n = 1500
	for i := range n {
		gold := fmt.Sprint(i)
		if i%3 == 0 {
			gold = fmt.Sprint(i + 1)
		}
		line, _ := json.Marshal(map[string]string{"response": fmt.Sprintf("so \\boxed{%d}", i), "gold": gold})
		in.Write(line)
		in.WriteString("\n")
		if i%100 == 0 {
			in.WriteString("\n")
		}
	}
	results, err := runVerifyLines(t, in.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d lines", len(results), n)
	}
	for i, v := range results {
		if want := i%3 != 0; v.Correct != want || v.Pred != fmt.Sprint(i) {
			t.Fatalf("line %d: %+v, want correct=%v pred=%d", i+1, v, want, i)
		}
	}
}

func TestVerifyLinesFields(t *testing.T) {
	in := `{"response": "The answer is $\\boxed{\\dfrac{1}{2}}$.", "gold": "0.5"}
{"response": "no idea", "gold": 70.0}
{"response": "\\boxed{70}", "gold": 70.0}
`
	results, err := runVerifyLines(t, in, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []verifyOutput{
		{Correct: true, Pred: `\frac{1}{2}`, Gold: "0.5", Reason: "equivalent"},
		{Correct: false, Pred: "", Gold: "70.0", Reason: "no answer found"},
		{Correct: true, Pred: "70", Gold: "70.0", Reason: "equivalent"},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d results, want %d", len(results), len(want))
	}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i+1, results[i], want[i])
		}
	}
}

func TestVerifyLinesMalformed(t *testing.T) {
	for i, c := range []struct {
		input string
		line  string
		done  int // lines answered before the error
	}{
		{"{\"response\": \"\\\\boxed{1}\", \"gold\": \"1\"}\nnot json\n", "line 2", 1},
		{"{\"gold\": \"1\"}\n", "line 1", 0},
		{"{\"response\": \"x\"}\n", "line 1", 0},
		{"\n\n{\"response\": \"x\", \"gold\": [1]}\n", "line 3", 0},
	} {
		results, err := runVerifyLines(t, c.input, 2)
		if err == nil || !strings.Contains(err.Error(), c.line) {
			t.Errorf("case %d: error %v, want one naming %s", i, err, c.line)
		}
		if len(results) != c.done {
			t.Errorf("case %d: %d lines answered before the error, want %d", i, len(results), c.done)
		}
	}
}
