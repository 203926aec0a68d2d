package eval

import (
	"encoding/json"
	"math"
	"math/big"
	"math/bits"
	"strings"
	"testing"
)

// TestPassAtKBruteForce compares PassAtK with the definition: the fraction of the k-subsets of
// n samples, c of them correct, that hold a correct one, counted by enumerating subsets.
func TestPassAtKBruteForce(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for c := 0; c <= n; c++ {
			correctMask := uint(1)<<c - 1 // samples 0..c-1 are correct
			for k := 1; k <= n; k++ {
				subsets, hit := 0, 0
				for s := uint(0); s < 1<<n; s++ {
					if bits.OnesCount(s) != k {
						continue
					}
					subsets++
					if s&correctMask != 0 {
						hit++
					}
				}
				want := float64(hit) / float64(subsets)
				if got := PassAtK(n, c, k); math.Abs(got-want) > 1e-13 {
					t.Errorf("PassAtK(%d, %d, %d) = %.17g, enumeration gives %.17g", n, c, k, got, want)
				}
			}
		}
	}
}

// TestPassAtKLargeN checks large n against exact rational binomials: the product form must not
// lose precision where C(n, k) overflows float64.
func TestPassAtKLargeN(t *testing.T) {
	for i, tc := range []struct{ n, c, k int }{{2048, 3, 1024}, {4096, 1, 16}, {5000, 4000, 100}, {1500, 7, 1499}} {
		ratio := new(big.Rat).SetFrac(new(big.Int).Binomial(int64(tc.n-tc.c), int64(tc.k)), new(big.Int).Binomial(int64(tc.n), int64(tc.k)))
		want, _ := new(big.Rat).Sub(big.NewRat(1, 1), ratio).Float64()
		if got := PassAtK(tc.n, tc.c, tc.k); math.Abs(got-want) > 1e-12 {
			t.Errorf("case %d: PassAtK(%d, %d, %d) = %.17g, exact %.17g", i, tc.n, tc.c, tc.k, got, want)
		}
	}
}

func TestPassAtKPanicsOutsideItsDomain(t *testing.T) {
	for i, tc := range []struct{ n, c, k int }{{4, 1, 5}, {4, 5, 1}, {4, -1, 1}, {4, 1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d: PassAtK(%d, %d, %d) did not panic", i, tc.n, tc.c, tc.k)
				}
			}()
			PassAtK(tc.n, tc.c, tc.k)
		}()
	}
}

// craftedTallies: benchmark "a" has 4 samples per problem; "b" has problems with 2 and 3.
var craftedTallies = []Tally{
	{"a", "1", 4, 1}, {"b", "x", 2, 1}, {"a", "2", 4, 4}, {"a", "3", 4, 0}, {"b", "y", 3, 0},
}

// craftedResults are the scores of craftedTallies (and of craftedLines, under the names
// first and second), worked out by hand.
func craftedResults(first, second string) Results {
	return Results{
		Benchmarks: map[string]BenchmarkResult{
			first:  {Problems: 3, N: 4, Pass: PassRates{1: 1.25 / 3, 2: 0.5, 4: 2.0 / 3}},
			second: {Problems: 2, N: 2, Pass: PassRates{1: 0.25, 2: 0.5}},
		},
		Average: PassRates{1: (1.25/3 + 0.25) / 2, 2: 0.5},
	}
}

// compareResults reports where got differs from want by more than rounding.
func compareResults(t *testing.T, got, want Results) {
	t.Helper()
	comparePass := func(what string, g, w PassRates) {
		if len(g) != len(w) {
			t.Errorf("%s: pass rates %v, want %v", what, g, w)
		}
		for k, v := range w {
			if math.Abs(g[k]-v) > 1e-15 {
				t.Errorf("%s pass@%d = %.17g, want %.17g", what, k, g[k], v)
			}
		}
	}
	if len(got.Benchmarks) != len(want.Benchmarks) {
		t.Errorf("benchmarks %v, want %v", got.Names(), want.Names())
	}
	for name, wb := range want.Benchmarks {
		gb := got.Benchmarks[name]
		if gb.Problems != wb.Problems || gb.N != wb.N {
			t.Errorf("%s: %d problems, n = %d; want %d, %d", name, gb.Problems, gb.N, wb.Problems, wb.N)
		}
		comparePass(name, gb.Pass, wb.Pass)
	}
	comparePass("average", got.Average, want.Average)
}

func TestAggregate(t *testing.T) {
	res, err := Aggregate(craftedTallies, []int{4, 2})
	if err != nil {
		t.Fatal(err)
	}
	// By hand: a: pass@1 (1/4 + 1 + 0)/3; pass@2 (1 - C(3,2)/C(4,2) + 1 + 0)/3 = 1/2;
	// pass@4 (1 + 1 + 0)/3. b (n = 2): pass@1 (1/2 + 0)/2; pass@2 (1 + 0)/2; no pass@4.
	compareResults(t, res, craftedResults("a", "b"))
	notes := res.LeftOut([]int{1, 2, 4})
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "b: pass@4 left out") {
		t.Errorf("left out notes %q", notes)
	}
	if _, err := Aggregate(craftedTallies, []int{0}); err == nil {
		t.Error("k = 0 accepted")
	}
	if _, err := Aggregate([]Tally{{"a", "1", 2, 3}}, nil); err == nil {
		t.Error("3 correct of 2 samples accepted")
	}
}

func TestResultsJSON(t *testing.T) {
	res, err := Aggregate(craftedTallies, []int{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"benchmarks":{"a":{"problems":3,"n":4,"pass@1":0.4166666666666667,"pass@2":0.5,"pass@4":0.6666666666666666},` +
		`"b":{"problems":2,"n":2,"pass@1":0.25,"pass@2":0.5}},"average":{"pass@1":0.33333333333333337,"pass@2":0.5}}`
	if string(raw) != want {
		t.Errorf("results JSON\n got %s\nwant %s", raw, want)
	}
	var back Results
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != want {
		t.Errorf("round trip\n got %s\nwant %s", again, want)
	}
}

func TestResultsText(t *testing.T) {
	res, err := Aggregate(craftedTallies, []int{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"benchmark  problems  n  pass@1  pass@2  pass@4\n" +
		"a          3         4  41.67   50.00   66.67\n" +
		"b          2         2  25.00   50.00   -\n" +
		"average                 33.33   50.00   -\n"
	if b.String() != want {
		t.Errorf("text\n%s\nwant\n%s", b.String(), want)
	}
}
