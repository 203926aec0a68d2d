package tasks

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"ltecli/lte"
)

// Source is the Source of every generated problem.
const Source = "modular"

// Kind says how the unknown enters an equation, and so how hard it is for the model.
type Kind int

const (
	Direct Kind = iota // x mod K = c: the answer is written in the question
	Search             // (a·x + b) mod K = c otherwise: the model cannot compute it and searches
)

func (k Kind) String() string {
	switch k {
	case Direct:
		return "direct"
	case Search:
		return "search"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Equation is one problem: find the x in {0, ..., K-1} with (A·x + B) mod K = C. A is a unit
// mod K (coprime to it), so X, the answer, is unique.
type Equation struct {
	K, A, B, C int
	X          int
	Wordy      bool // phrased as a word problem (answers to those tend to ramble)
}

// Kind returns the kind of e.
func (e Equation) Kind() Kind {
	if e.A == 1 && e.B == 0 {
		return Direct
	}
	return Search
}

// Answer returns the gold answer: X in decimal.
func (e Equation) Answer() string { return strconv.Itoa(e.X) }

// Question returns the problem text.
func (e Equation) Question() string {
	last := e.K - 1
	if e.Wordy {
		var steps []string
		if e.A != 1 {
			steps = append(steps, fmt.Sprintf("multiply it by %d", e.A))
		}
		if e.B != 0 {
			steps = append(steps, fmt.Sprintf("add %d", e.B))
		}
		if len(steps) == 0 {
			return fmt.Sprintf("A whole number x between 0 and %d leaves the remainder %d when it is divided by %d. What is x?", last, e.C, e.K)
		}
		return fmt.Sprintf("Take a whole number x between 0 and %d, %s, and divide by %d: the remainder is %d. What is x?",
			last, strings.Join(steps, ", "), e.K, e.C)
	}
	term := "x"
	if e.A != 1 {
		term = strconv.Itoa(e.A) + "x"
	}
	if e.B != 0 {
		term = fmt.Sprintf("(%s + %d)", term, e.B)
	}
	return fmt.Sprintf("Find the integer x from 0 to %d with %s mod %d = %d.", last, term, e.K, e.C)
}

// Problem returns e as a problem of the lte package, with the given ID.
func (e Equation) Problem(id string) lte.Problem {
	return lte.Problem{ID: id, Question: e.Question(), Answer: e.Answer(), Source: Source}
}

// key identifies the equation regardless of its phrasing: the splits are disjoint by key.
func (e Equation) key() [4]int { return [4]int{e.K, e.A, e.B, e.C} }

// Shape of the warm-started model's answers (see Prior).
const (
	// directRight is how often the model copies the answer of a direct equation.
	directRight = 0.94
	// searchDecay is the ratio of the probabilities of candidates v+1 and v on a search equation.
	searchDecay = 0.5
)

// Prior returns the distribution over the candidate answers 0..K-1 that the SFT targets for
// the plain prompt of e are drawn from: the model's intended belief after warm-up. On a
// direct equation it is right with probability 0.94, the rest spread evenly. On a search
// equation it cannot compute the answer and searches from 0 upwards, stopping early: candidate
// v has probability proportional to 0.5^v whatever the answer, so small answers are often
// found and large ones almost never.
func (e Equation) Prior() []float64 {
	p := make([]float64, e.K)
	if e.Kind() == Direct {
		for v := range p {
			p[v] = (1 - directRight) / float64(e.K-1)
		}
		p[e.X] = directRight
		return p
	}
	sum, w := 0.0, 1.0
	for v := range p {
		p[v] = w
		sum += w
		w *= searchDecay
	}
	for v := range p {
		p[v] /= sum
	}
	return p
}

// rambleRate is how often the SFT target for e is a long ramble, which a max-token limit
// cuts off: the model hesitates on word problems and on problems it cannot solve.
func (e Equation) rambleRate() float64 {
	switch {
	case e.Wordy:
		return 0.75
	case e.Kind() == Search:
		return 0.1
	}
	return 0
}

// Config is the generator's difficulty knob. Larger moduli mean more candidates, so more
// answers the model's search rarely reaches; a smaller Direct share means fewer problems it
// solves outright; a larger Wordy share means more responses that ramble past the length limit.
type Config struct {
	Moduli []int   // moduli K (5 or more) drawn from evenly; answers of 10 or more take two tokens
	Direct float64 // share of direct equations; the rest are search equations
	Wordy  float64 // share of equations phrased as word problems
}

// DefaultConfig is the task of the embedded demonstration.
func DefaultConfig() Config {
	return Config{Moduli: []int{5, 6, 7, 8, 9}, Direct: 0.1, Wordy: 0.2}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if len(c.Moduli) == 0 {
		return errors.New("task: no moduli")
	}
	for _, k := range c.Moduli {
		if k < 5 {
			return fmt.Errorf("task: modulus %d is below 5", k)
		}
	}
	if !(c.Direct >= 0 && c.Direct <= 1) {
		return fmt.Errorf("task: direct share %v is not in [0, 1]", c.Direct)
	}
	if !(c.Wordy >= 0 && c.Wordy <= 1) {
		return fmt.Errorf("task: wordy share %v is not in [0, 1]", c.Wordy)
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// sample draws one equation of the given kind.
func (c Config) sample(r *rand.Rand, kind Kind) Equation {
	k := c.Moduli[r.IntN(len(c.Moduli))]
	e := Equation{K: k, A: 1, X: r.IntN(k), Wordy: r.Float64() < c.Wordy}
	for kind == Search && e.Kind() == Direct {
		// a is a unit mod K, so that the answer is unique; (a, b) = (1, 0) is direct.
		e.A, e.B = 1+r.IntN(k-1), r.IntN(k)
		for gcd(e.A, k) != 1 {
			e.A = 1 + r.IntN(k-1)
		}
	}
	e.C = (e.A*e.X + e.B) % k
	return e
}

// drawKind draws a kind with the configured shares.
func (c Config) drawKind(r *rand.Rand) Kind {
	if r.Float64() < c.Direct {
		return Direct
	}
	return Search
}

// Splits are the training and validation problems of one task, disjoint by equation (a word
// problem and a terse one with the same equation count as the same).
type Splits struct {
	Train, Val []Equation
}

// NewSplits draws nTrain training and nVal validation equations, all distinct, from seed. The
// kinds come in the configured shares, rounded, in random order.
func NewSplits(c Config, seed uint64, nTrain, nVal int) (Splits, error) {
	if err := c.Validate(); err != nil {
		return Splits{}, err
	}
	r := rand.New(rand.NewPCG(seed, 0x6d6f64756c6172)) // "modular"
	used := map[[4]int]bool{}
	var s Splits
	var err error
	if s.Train, err = c.distinct(r, nTrain, used); err != nil {
		return Splits{}, fmt.Errorf("training split: %w", err)
	}
	if s.Val, err = c.distinct(r, nVal, used); err != nil {
		return Splits{}, fmt.Errorf("validation split: %w", err)
	}
	return s, nil
}

// distinct draws n equations not in used, in the configured kind shares, and adds them to used.
func (c Config) distinct(r *rand.Rand, n int, used map[[4]int]bool) ([]Equation, error) {
	direct := int(math.Round(float64(n) * c.Direct))
	counts := map[Kind]int{Direct: direct, Search: n - direct}
	var out []Equation
	for _, kind := range []Kind{Direct, Search} {
		for range counts[kind] {
			e, ok := c.fresh(r, kind, used)
			if !ok {
				return nil, fmt.Errorf("fewer than %d distinct %s equations left for moduli %v", counts[kind], kind, c.Moduli)
			}
			used[e.key()] = true
			out = append(out, e)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// fresh draws an equation of the given kind that is not in used, or reports that it found none
// in many tries.
func (c Config) fresh(r *rand.Rand, kind Kind, used map[[4]int]bool) (Equation, bool) {
	for range 10000 {
		if e := c.sample(r, kind); !used[e.key()] {
			return e, true
		}
	}
	return Equation{}, false
}

// Problems returns the equations as problems of the lte package, with IDs prefix-000, ...
func Problems(prefix string, eqs []Equation) []lte.Problem {
	out := make([]lte.Problem, len(eqs))
	for i, e := range eqs {
		out[i] = e.Problem(fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}
