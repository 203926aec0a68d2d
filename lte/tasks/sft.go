package tasks

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"ltecli/lte"
	"ltecli/model/tokenizer"
)

// SFT data shape.
const (
	// plainShare is the share of SFT examples with a plain prompt; the others are hinted.
	plainShare = 0.5
	// minGroup and maxGroup bound the simulated group whose mistakes a hinted example lists:
	// from half the paper's G = 8 to twice it, as a replay buffer gathers mistakes over steps.
	minGroup, maxGroup = 4, 16
	// hintMaxAnswers caps the answers a hint lists, as the trainer's default does.
	hintMaxAnswers = 8
	// otherMistakes is the share of hinted examples whose simulated group guesses evenly
	// instead of following the prior, so that the model learns to exclude whatever is listed,
	// not only the answers it would have given itself.
	otherMistakes = 0.5
	// rambleTries is how many candidates a ramble names before answering.
	rambleTries = 4
)

// Example is one SFT example: the full prompt text (chat format included) and the target
// continuation (the SFT trainer appends the end-of-turn token).
type Example struct {
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
}

// SFTConfig says how SFT examples are made.
type SFTConfig struct {
	Task     Config
	Template string // prompt template name (model/tokenizer), as ltecli run uses
	Examples int
	Seed     uint64
}

// BuildSFT returns SFT examples on equations drawn from the task, none of them an equation of
// held (the training and validation splits, so that warm-up does not teach their answers).
//
// A plain example (60% of them) asks the question and answers from Equation.Prior: right
// as often as the warm-started model should be, a guess otherwise.
// A hinted example plays one LTE hint round: it samples a group of 4 to 16 plain answers, each
// truncated (a ramble) at the equation's ramble rate, from the prior (or, 30% of the time, evenly
// from all candidates, so that the model learns to exclude whatever is listed), and keeps the
// equation only if no answer is correct (otherwise it draws another); it lists the distinct
// wrong answers of the untruncated ones, picks the template by truncation as the trainer does
// (lte.HintEngine.Choose), and answers from the prior conditioned on not being a listed answer.
// The hint is thus evidence the model learns to use, not a leak of the answer: where the prior
// has little mass on the truth, excluding the mistakes makes it likely only in proportion.
// Targets under concise_hint and concise are always short; elsewhere they ramble at the
// equation's ramble rate.
func BuildSFT(c SFTConfig, held Splits) ([]Example, error) {
	if err := c.Task.Validate(); err != nil {
		return nil, err
	}
	tmpl, err := tokenizer.TemplateByName(c.Template)
	if err != nil {
		return nil, err
	}
	engine, err := lte.NewHintEngine("", "", "", hintMaxAnswers)
	if err != nil {
		return nil, err
	}
	used := map[[4]int]bool{}
	for _, e := range append(append([]Equation(nil), held.Train...), held.Val...) {
		used[e.key()] = true
	}
	r := rand.New(rand.NewPCG(c.Seed, 0x736674)) // "sft"
	out := make([]Example, 0, c.Examples)
	for range c.Examples {
		hinted := r.Float64() >= plainShare
		e, name, listed, err := c.pick(r, engine, used, hinted)
		if err != nil {
			return nil, err
		}
		question := e.Question()
		if hinted {
			if question, err = engine.Render(name, question, listed); err != nil {
				return nil, err
			}
		}
		prompt, err := tmpl.Render(question)
		if err != nil {
			return nil, err
		}
		answer := draw(r, excluding(e.Prior(), listed))
		ramble := name != lte.TemplateConcise && name != lte.TemplateConciseHint && r.Float64() < e.rambleRate()
		out = append(out, Example{Prompt: prompt, Response: response(e, answer, ramble, listed)})
	}
	return out, nil
}

// hintTries bounds the equations tried for one hinted example.
const hintTries = 1000

// pick draws an equation outside used. For a hinted example it draws until one's simulated
// group is none-pass, so that hinted equations are as frequent as among the none-pass problems
// of a training step, and returns the template and the answers to list.
func (c SFTConfig) pick(r *rand.Rand, engine *lte.HintEngine, used map[[4]int]bool, hinted bool) (Equation, string, []string, error) {
	for range hintTries {
		e, ok := c.Task.fresh(r, c.Task.drawKind(r), used)
		if !ok {
			return Equation{}, "", nil, fmt.Errorf("no equation left outside the splits for moduli %v", c.Task.Moduli)
		}
		if !hinted {
			return e, lte.TemplatePlain, nil, nil
		}
		guesses := e.Prior()
		if r.Float64() < otherMistakes {
			guesses = make([]float64, e.K)
			for v := range guesses {
				guesses[v] = 1 / float64(e.K)
			}
		}
		if wrong, truncated, total, ok := nonePassGroup(r, e, guesses); ok {
			name, listed := engine.Choose(wrong, truncated, total)
			return e, name, listed, nil
		}
	}
	return Equation{}, "", nil, errors.New("no equation of this task is failed often enough to be hinted")
}

// nonePassGroup samples a group of answers to e from the distribution guesses and reports
// whether none is correct; if so it returns the group's distinct wrong answers in random order,
// how many answers were truncated and the group size.
func nonePassGroup(r *rand.Rand, e Equation, guesses []float64) (wrong []string, truncated, total int, ok bool) {
	total = minGroup + r.IntN(maxGroup-minGroup+1)
	seen := map[int]bool{}
	for range total {
		if r.Float64() < e.rambleRate() {
			truncated++
			continue
		}
		a := draw(r, guesses)
		if a == e.X {
			return nil, 0, 0, false
		}
		if !seen[a] {
			seen[a] = true
			wrong = append(wrong, strconv.Itoa(a))
		}
	}
	r.Shuffle(len(wrong), func(i, j int) { wrong[i], wrong[j] = wrong[j], wrong[i] })
	return wrong, truncated, total, true
}

// excluding returns p with the listed answers' mass removed and the rest renormalized. Listed
// answers cover at most the wrong ones, so the correct answer keeps its mass and the result is
// a distribution.
func excluding(p []float64, listed []string) []float64 {
	out := append([]float64(nil), p...)
	for _, a := range listed {
		if v, err := strconv.Atoi(a); err == nil && v >= 0 && v < len(out) {
			out[v] = 0
		}
	}
	sum := 0.0
	for _, q := range out {
		sum += q
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// draw samples an index of the distribution p.
func draw(r *rand.Rand, p []float64) int {
	u := r.Float64()
	for i, q := range p {
		if u < q {
			return i
		}
		u -= q
	}
	last := 0 // rounding can leave u above the total: take the last possible index
	for i, q := range p {
		if q > 0 {
			last = i
		}
	}
	return last
}

// response writes a target: a short answer (9 or 10 tokens with the end-of-turn token), or a
// ramble that names up to four candidates not listed as wrong before answering (34 tokens or
// more with the demonstration's tokenizer, so that a max-token limit of about 24 cuts it off).
// No listed answer appears in it.
func response(e Equation, answer int, ramble bool, listed []string) string {
	boxed := fmt.Sprintf(`\boxed{%d}`, answer)
	if !ramble {
		return "The answer is " + boxed + "."
	}
	var b strings.Builder
	b.WriteString("I am not sure, so let me go through the possible values of x one at a time.")
	tries := 0
	for x := 0; x < e.K && tries < rambleTries; x++ {
		if !slices.Contains(listed, strconv.Itoa(x)) {
			fmt.Fprintf(&b, " x = %d?", x)
			tries++
		}
	}
	b.WriteString(" I will go with " + boxed + ".")
	return b.String()
}

// WriteExamples writes examples as JSON lines {"prompt", "response"}.
func WriteExamples(path string, examples []Example) error {
	return writeJSONL(path, len(examples), func(i int) any { return examples[i] })
}

// problemRow is a line of train.jsonl and val.jsonl, as lte.LoadProblems reads it.
type problemRow struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// WriteProblems writes problems as JSON lines {"id", "question", "answer"}.
func WriteProblems(path string, problems []lte.Problem) error {
	return writeJSONL(path, len(problems), func(i int) any {
		p := problems[i]
		return problemRow{ID: p.ID, Question: p.Question, Answer: p.Answer}
	})
}

// writeJSONL writes n JSON lines, line i being the encoding of row(i).
func writeJSONL(path string, n int, row func(i int) any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range n {
		if err := enc.Encode(row(i)); err != nil {
			f.Close()
			return fmt.Errorf("%s: line %d: %w", path, i+1, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
