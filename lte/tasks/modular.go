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
	Shift              // (x + b) mod K = c, b ≠ 0: one modular subtraction
	Scale              // (a·x + b) mod K = c, a ≥ 2: needs the inverse of a; the model guesses
)

func (k Kind) String() string {
	switch k {
	case Direct:
		return "direct"
	case Shift:
		return "shift"
	case Scale:
		return "scale"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Equation is one problem: find the x in {0, ..., K-1} with (A·x + B) mod K = C. K is prime
// and A is not a multiple of K, so X, the answer, is unique.
type Equation struct {
	K, A, B, C int
	X          int
	Wordy      bool // phrased as a word problem (answers to those tend to ramble)
}

// Kind returns the kind of e.
func (e Equation) Kind() Kind {
	switch {
	case e.A != 1:
		return Scale
	case e.B != 0:
		return Shift
	}
	return Direct
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

// distractors are the answers of the mistakes the model is taught to make, most likely first,
// with their shares of the plain-prompt answer distribution (see Prior).
func (e Equation) distractors() (values []int, weights []float64) {
	mod := func(v int) int { return ((v % e.K) + e.K) % e.K }
	switch e.Kind() {
	case Shift:
		// b ignored; b added instead of subtracted. Both differ from X and from each other
		// because b ≠ 0 and K is an odd prime.
		return []int{e.C, mod(e.C + e.B)}, []float64{0.20, 0.15}
	case Scale:
		// a ignored; a and b ignored; a ignored and b added.
		return []int{mod(e.C - e.B), e.C, mod(e.C + e.B)}, []float64{0.35, 0.25, 0.10}
	}
	return nil, nil
}

// correctShare is the share of the plain-prompt answer distribution on the correct answer,
// beyond what falls on it as a distractor or by guessing.
var correctShare = map[Kind]float64{Direct: 0.94, Shift: 0.50, Scale: 0}

// Prior returns the distribution over the candidate answers 0..K-1 that the SFT targets for
// the plain prompt of e are drawn from: the model's intended belief after warm-up. Direct
// equations: the answer with 0.94. Shift equations: the answer with 0.5, the two mistakes
// (b ignored, b added) with 0.2 and 0.15. Scale equations: the three mistakes (a ignored, a
// and b ignored, a ignored and b added) with 0.35, 0.25 and 0.1, and nothing on the answer
// beyond its share of the guesses. The mass left over is spread evenly over the candidates
// that got none, the guesses; where mistakes coincide their shares add up.
func (e Equation) Prior() []float64 {
	p := make([]float64, e.K)
	p[e.X] += correctShare[e.Kind()]
	values, weights := e.distractors()
	for i, v := range values {
		p[v] += weights[i]
	}
	left, empty := 1.0, 0
	for _, q := range p {
		left -= q
		if q == 0 {
			empty++
		}
	}
	for v, q := range p {
		if q == 0 {
			p[v] = left / float64(empty)
		}
	}
	return p
}

// rambleRate is how often the SFT target for e is a long ramble, which a max-token limit
// cuts off: the model hesitates more on word problems and on problems it cannot solve.
func (e Equation) rambleRate() float64 {
	if e.Wordy {
		return 0.75
	}
	return map[Kind]float64{Direct: 0, Shift: 0.05, Scale: 0.10}[e.Kind()]
}

// Config is the generator's difficulty knob. Larger moduli mean more candidates to guess
// among, so fewer lucky guesses; a larger Scale share means more problems the model cannot
// compute; a larger Wordy share means more responses that ramble past the length limit.
type Config struct {
	Moduli []int   // odd primes the modulus K is drawn from, evenly
	Shift  float64 // share of shift equations
	Scale  float64 // share of scale equations; the rest are direct
	Wordy  float64 // share of equations phrased as word problems
}

// DefaultConfig is the task of the embedded demonstration.
func DefaultConfig() Config {
	return Config{Moduli: []int{7, 11, 13}, Shift: 0.25, Scale: 0.65, Wordy: 0.2}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if len(c.Moduli) == 0 {
		return errors.New("task: no moduli")
	}
	for _, k := range c.Moduli {
		if k < 5 || !prime(k) {
			return fmt.Errorf("task: modulus %d is not a prime of 5 or more", k)
		}
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"shift", c.Shift}, {"scale", c.Scale}, {"wordy", c.Wordy}} {
		if !(s.v >= 0 && s.v <= 1) {
			return fmt.Errorf("task: %s share %v is not in [0, 1]", s.name, s.v)
		}
	}
	if c.Shift+c.Scale > 1 {
		return fmt.Errorf("task: shift and scale shares add up to %v, more than 1", c.Shift+c.Scale)
	}
	return nil
}

func prime(n int) bool {
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return n >= 2
}

// sample draws one equation of the given kind.
func (c Config) sample(r *rand.Rand, kind Kind) Equation {
	k := c.Moduli[r.IntN(len(c.Moduli))]
	e := Equation{K: k, A: 1, X: r.IntN(k), Wordy: r.Float64() < c.Wordy}
	switch kind {
	case Shift:
		e.B = 1 + r.IntN(k-1)
	case Scale:
		e.A = 2 + r.IntN(k-2)
		e.B = r.IntN(k)
	}
	e.C = (e.A*e.X + e.B) % k
	return e
}

// drawKind draws a kind with the configured shares.
func (c Config) drawKind(r *rand.Rand) Kind {
	switch u := r.Float64(); {
	case u < c.Scale:
		return Scale
	case u < c.Scale+c.Shift:
		return Shift
	}
	return Direct
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
	counts := map[Kind]int{
		Shift: int(math.Round(float64(n) * c.Shift)),
		Scale: int(math.Round(float64(n) * c.Scale)),
	}
	counts[Direct] = max(0, n-counts[Shift]-counts[Scale])
	counts[Scale] = n - counts[Direct] - counts[Shift]
	var out []Equation
	for _, kind := range []Kind{Direct, Shift, Scale} {
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
