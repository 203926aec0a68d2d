package verify

import (
	"fmt"
	"regexp"
	"strings"
)

// Limits that bound the time and memory of one verification.
const (
	maxResponseBytes   = 1 << 20 // longer responses are searched in their last MiB only
	maxAnswerBytes     = 4096    // longer answers are compared as text only
	maxTokens          = 2048    // tokens of one answer
	maxDepth           = 200     // parser recursion: about three levels per bracket or fraction
	maxNodes           = 4096    // nodes of one expression tree
	maxDecimalExponent = 1000    // |e| in 1.5e-7
	maxExactBits       = 1 << 15 // bits of an exact rational intermediate
	maxPowExponent     = 1 << 16 // |k| in an exact power x^k
	maxFactorial       = 3000    // n in an exact n!
	maxBinomialN       = 5000    // n in an exact binomial
	maxMatrixDim       = 8       // rows or columns in matrix products
	maxUnordered       = 64      // elements of a set matched without regard to order
	maxJoinedParts     = 16      // boxes or math spans joined into one list answer
	maxVars            = 16      // distinct variables of a comparison
	numPoints          = 6       // sample points for expressions with variables
	minValidPoints     = 3       // sample points where both sides must be defined
	numberWindow       = 4096    // bytes searched for a trailing number
	workBudget         = 20000   // comparison steps and evaluations per verification
	longGold           = 150     // a gold answer longer than this, with sentences, is a solution text
)

// Tolerances for comparing numbers.
const (
	tolNumeric  = 1e-8  // relative, for exact-looking values computed in floating point
	tolDecimal  = 1e-4  // relative, when a decimal literal (0.333, 4.5e33) is involved
	tolAbsolute = 1e-12 // absolute, for values that should be zero
)

// Verdict is the outcome of verifying one response.
type Verdict struct {
	Correct bool
	Pred    string // the extracted answer, normalised ("" when none was found)
	Gold    string // the gold answer, normalised
	Reason  string // why the verdict was reached, for logs and debugging
}

// Reasons given in a Verdict.
const (
	ReasonEquivalent = "equivalent"
	ReasonIdentical  = "identical after normalisation"
	ReasonDifferent  = "not equivalent"
	ReasonNoAnswer   = "no answer found"
	ReasonNoGold     = "empty gold answer"
)

// Verify checks a model response against a gold answer. The gold answer is a bare answer,
// possibly wrapped in $...$ or \boxed{}; a long solution text is reduced to its final
// answer as with Extract. The response's answer is found by Extract, both are normalised
// (see Normalize) and compared for mathematical equivalence (see Equivalent).
//
// Verify never panics: an internal failure is an incorrect verdict whose Reason says so.
// It is deterministic and safe for concurrent use; its time and memory are bounded by
// limits on input length, nesting depth, number sizes and comparison work.
func Verify(response, gold string) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = Verdict{Pred: v.Pred, Gold: v.Gold, Reason: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	g := newAnswer(goldAnswer(gold))
	v.Gold = g.norm.display()
	if g.key == "" {
		v.Reason = ReasonNoGold
		return v
	}
	raw, ok := Extract(response)
	if !ok {
		v.Reason = ReasonNoAnswer
		return v
	}
	p := newAnswer(raw)
	v.Pred = p.norm.display()
	if p.key == "" {
		v.Reason = ReasonNoAnswer
		return v
	}
	v.Correct, v.Reason = compareAnswers(g, p)
	return v
}

// Equivalent reports whether two bare answers are mathematically equivalent, with the rules
// of Verify (a plays the gold answer, which matters only for relations: "x=5" and 5 are
// equivalent either way, "2x+y=1" and 1 are not). It never panics and is safe for
// concurrent use.
func Equivalent(a, b string) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	ga, gb := newAnswer(a), newAnswer(b)
	if ga.key == "" || gb.key == "" {
		return false
	}
	eq, _ = compareAnswers(ga, gb)
	return eq
}

// goldAnswer reduces a gold answer to the answer itself: the content of its boxes if it has
// any, the extracted answer of a long solution text, or the text as given.
func goldAnswer(gold string) string {
	gold = tail(gold, maxResponseBytes)
	if a, _, ok := boxedAnswer(gold); ok {
		return a
	}
	if len(gold) > longGold && (strings.Contains(gold, ". ") || strings.Contains(gold, "\n")) {
		if a, ok := Extract(gold); ok {
			return a
		}
	}
	return gold
}

// answer is a normalised answer ready for comparison.
type answer struct {
	norm   normal
	key    string // norm.text without spaces: equal keys are equal answers
	tree   *node  // nil when the answer is text or does not parse
	text   bool   // a word answer, compared case-insensitively as text
	choice byte   // multiple-choice letter A-E, or 0
}

func newAnswer(raw string) *answer {
	n := normalize(raw)
	a := &answer{norm: n, key: strings.ReplaceAll(n.text, " ", "")}
	if a.key == "" || len(n.text) > maxAnswerBytes {
		return a
	}
	if m := choiceExact.FindStringSubmatch(n.text); m != nil {
		a.choice = m[1][0]
	}
	if isTextAnswer(n.text) {
		a.text = true
		return a
	}
	a.tree, _ = parse(n.text)
	return a
}

var (
	choiceExact   = regexp.MustCompile(`^\(?([A-E])\)?$`)
	choiceLenient = regexp.MustCompile(`^\(?([A-Ea-e])(?:\)|$|[\s.:])`)
)

// isTextAnswer reports whether s is words rather than mathematics: letters, spaces and
// light punctuation only, with a word of three or more letters (or yes/no).
func isTextAnswer(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !strings.ContainsRune(" -',.()", rune(c)) {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "yes", "no":
		return true
	}
	word := false
	letterRuns(s, func(run string, _ int) bool {
		if _, fn := wordFunctions[run]; len(run) >= 3 && !fn {
			word = true
		}
		return !word
	})
	return word
}

// textKey is the comparison form of a word answer: lower-case letters and digits only.
func textKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z' || isDigit(c):
			b.WriteByte(c)
		}
	}
	return b.String()
}

// compareAnswers decides whether the predicted answer p matches the gold answer g.
func compareAnswers(g, p *answer) (bool, string) {
	if g.key == p.key {
		return true, ReasonIdentical
	}
	if g.choice != 0 {
		if m := choiceLenient.FindStringSubmatch(p.norm.text); m != nil {
			return verdict(m[1][0]&^0x20 == g.choice)
		}
	}
	if g.text || p.text {
		return verdict(g.text && p.text && textKey(g.norm.text) == textKey(p.norm.text))
	}
	if g.tree == nil || p.tree == nil {
		return false, ReasonDifferent + " (not parsable as mathematics)"
	}
	c := &comparer{budget: workBudget}
	if c.equal(g.tree, p.tree) {
		return true, ReasonEquivalent
	}
	// A percentage also matches its fraction: 28\% is 28 and 0.28.
	if g.norm.percent != p.norm.percent {
		pct, other := g.tree, p.tree
		if p.norm.percent {
			pct, other = p.tree, g.tree
		}
		if c.equal(mul(pct, ratNode(1, 100)), other) {
			return true, ReasonEquivalent + " (as a percentage)"
		}
	}
	// A decimal comma: "1,22" is 1.22 when the other answer is a decimal number.
	if a, ok := decimalComma(g, p); ok && c.equal(a, p.tree) {
		return true, ReasonEquivalent + " (decimal comma)"
	}
	if a, ok := decimalComma(p, g); ok && c.equal(g.tree, a) {
		return true, ReasonEquivalent + " (decimal comma)"
	}
	// Degrees also match radians written with \pi.
	if g.norm.degree != p.norm.degree {
		deg, other := g.tree, p.tree
		if p.norm.degree {
			deg, other = p.tree, g.tree
		}
		if hasPi(other) && c.equal(mul(deg, div(constNode("pi"), intNode(180))), other) {
			return true, ReasonEquivalent + " (degrees as radians)"
		}
	}
	return false, ReasonDifferent
}

var decimalCommaPattern = regexp.MustCompile(`^-?(?:0,\d+|\d+,(?:\d{1,2}|\d{4,}))$`)

// decimalComma reads a as a number with a decimal comma ("1,22", "1000,99", not "1,000")
// when other is a decimal number.
func decimalComma(a, other *answer) (*node, bool) {
	if !decimalCommaPattern.MatchString(a.norm.text) || other.tree == nil || other.tree.kind != nNum || !other.tree.dec {
		return nil, false
	}
	n, err := parse(strings.Replace(a.norm.text, ",", ".", 1))
	return n, err == nil
}

func verdict(ok bool) (bool, string) {
	if ok {
		return true, ReasonEquivalent
	}
	return false, ReasonDifferent
}
