package tasks

import (
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"ltecli/lte"
	"ltecli/lte/verify"
)

// TestAnswersSolveTheirEquations checks every problem of the default splits by brute force:
// exactly one candidate satisfies the equation, it is the gold answer, and a response that
// boxes the gold answer reads back as that integer.
func TestAnswersSolveTheirEquations(t *testing.T) {
	s, err := NewSplits(DefaultConfig(), 7, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range append(s.Train, s.Val...) {
		var solutions []int
		for x := range e.K {
			if (e.A*x+e.B)%e.K == e.C {
				solutions = append(solutions, x)
			}
		}
		if len(solutions) != 1 || solutions[0] != e.X {
			t.Fatalf("problem %d %+v: solutions %v, want only %d", i, e, solutions, e.X)
		}
		got, err := strconv.Atoi(boxed(`The answer is \boxed{` + e.Answer() + `}.`))
		if err != nil || got != e.X {
			t.Fatalf("problem %d: boxed answer reads %d (%v), want %d", i, got, err, e.X)
		}
	}
}

// TestQuestionText checks both phrasings of each kind against hand-written text.
func TestQuestionText(t *testing.T) {
	cases := []struct {
		e    Equation
		want string
	}{
		{Equation{K: 13, A: 1, B: 0, C: 7, X: 7}, "Find the integer x from 0 to 12 with x mod 13 = 7."},
		{Equation{K: 9, A: 2, B: 5, C: 7, X: 1}, "Find the integer x from 0 to 8 with (2x + 5) mod 9 = 7."},
		{Equation{K: 7, A: 1, B: 4, C: 5, X: 1}, "Find the integer x from 0 to 6 with (x + 4) mod 7 = 5."},
		{Equation{K: 11, A: 8, B: 3, C: 1, X: 9}, "Find the integer x from 0 to 10 with (8x + 3) mod 11 = 1."},
		{Equation{K: 11, A: 3, B: 0, C: 5, X: 9}, "Find the integer x from 0 to 10 with 3x mod 11 = 5."},
		{Equation{K: 13, A: 1, B: 0, C: 7, X: 7, Wordy: true},
			"A whole number x between 0 and 12 leaves the remainder 7 when it is divided by 13. What is x?"},
		{Equation{K: 7, A: 1, B: 4, C: 5, X: 1, Wordy: true},
			"Take a whole number x between 0 and 6, add 4, and divide by 7: the remainder is 5. What is x?"},
		{Equation{K: 13, A: 3, B: 5, C: 7, X: 5, Wordy: true},
			"Take a whole number x between 0 and 12, multiply it by 3, add 5, and divide by 13: the remainder is 7. What is x?"},
	}
	for i, c := range cases {
		if got := c.e.Question(); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
}

// TestPrior checks priors worked out by hand and that every prior is a distribution.
func TestPrior(t *testing.T) {
	// 1 + 1/2 + ... + 1/64 = 127/64 for K = 7.
	search := []float64{64.0 / 127, 32.0 / 127, 16.0 / 127, 8.0 / 127, 4.0 / 127, 2.0 / 127, 1.0 / 127}
	cases := []struct {
		e    Equation
		want []float64
	}{
		// Direct: 0.94 on x = 3, 0.06 over the 6 others.
		{Equation{K: 7, A: 1, B: 0, C: 3, X: 3}, []float64{0.01, 0.01, 0.01, 0.94, 0.01, 0.01, 0.01}},
		// Search, whatever the equation and its answer: proportional to 0.5^v.
		{Equation{K: 7, A: 1, B: 4, C: 5, X: 1}, search},
		{Equation{K: 7, A: 3, B: 5, C: 6, X: 5, Wordy: true}, search},
	}
	for i, c := range cases {
		got := c.e.Prior()
		for v := range got {
			if math.Abs(got[v]-c.want[v]) > 1e-12 {
				t.Errorf("case %d: prior %v, want %v", i, got, c.want)
				break
			}
		}
	}
	s, err := NewSplits(DefaultConfig(), 1, 150, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range s.Train {
		sum := 0.0
		for _, q := range e.Prior() {
			if q < 0 {
				t.Fatalf("problem %d: negative prior %v", i, e.Prior())
			}
			sum += q
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("problem %d: prior sums to %v", i, sum)
		}
	}
}

// TestSplits checks that splits are reproducible from their seed, disjoint by equation, of the
// configured composition, and load back through lte.LoadProblems.
func TestSplits(t *testing.T) {
	cfg := DefaultConfig()
	a, err := NewSplits(cfg, 1, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSplits(cfg, 1, 64, 64)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different splits")
	}
	if c, _ := NewSplits(cfg, 2, 64, 64); reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same splits")
	}
	seen := map[[4]int]string{}
	for name, split := range map[string][]Equation{"train": a.Train, "val": a.Val} {
		kinds := map[Kind]int{}
		for i, e := range split {
			key := [4]int{e.K, e.A, e.B, e.C}
			if where, dup := seen[key]; dup {
				t.Errorf("%s %d repeats the equation of %s", name, i, where)
			}
			seen[key] = name + " " + strconv.Itoa(i)
			kinds[e.Kind()]++
		}
		// 64 problems: round(64·0.1) = 6 direct, 58 search.
		if want := map[Kind]int{Direct: 6, Search: 58}; !reflect.DeepEqual(kinds, want) {
			t.Errorf("%s kinds %v, want %v", name, kinds, want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "train.jsonl")
	want := Problems("train", a.Train)
	if err := WriteProblems(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := lte.LoadProblems(path, lte.Fields{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Source = "train" // LoadProblems names the source after the file
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded problems differ:\n%v\nwant\n%v", got[:2], want[:2])
	}
	if _, err := NewSplits(Config{Moduli: []int{7}, Direct: 1}, 1, 10, 0); err == nil {
		t.Error("asking for 10 distinct direct equations mod 7 (there are 7) succeeded")
	}
	for _, bad := range []Config{{}, {Moduli: []int{4}}, {Moduli: []int{7}, Direct: 1.5}, {Moduli: []int{7}, Wordy: -1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("config %+v validated", bad)
		}
	}
}

// boxed is the last \boxed{} of s, as the verifier reads it.
func boxed(s string) string {
	a, _ := verify.LastBoxed(s)
	return a
}
