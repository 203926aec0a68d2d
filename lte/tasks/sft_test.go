package tasks

import (
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ltecli/lte"
	"ltecli/model/tokenizer"
)

var (
	// listedRe reads the answers a hint lists, as the default hint templates write them.
	listedRe = regexp.MustCompile(`the following answers are incorrect: ((?:\$\d+\$(?:, )?)+)\.`)
	// intRe finds the integers written in a response.
	intRe = regexp.MustCompile(`\d+`)
	// equationRe reads K and the equation back from a terse question.
	equationRe = regexp.MustCompile(`from 0 to (\d+) with (?:\(?(\d*)x(?: \+ (\d+)\))?) mod (\d+) = (\d+)\.`)
)

// sftTemplate classifies an SFT prompt by the hint text in it.
func sftTemplate(prompt string) string {
	concise := strings.Contains(prompt, "reason concisely")
	listed := strings.Contains(prompt, "answers are incorrect")
	switch {
	case concise && listed:
		return lte.TemplateConciseHint
	case concise:
		return lte.TemplateConcise
	case listed:
		return lte.TemplateHint
	}
	return lte.TemplatePlain
}

func buildSFT(t *testing.T, n int) ([]Example, Splits) {
	t.Helper()
	splits, err := NewSplits(DefaultConfig(), 1, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	examples, err := BuildSFT(SFTConfig{Task: DefaultConfig(), Template: "qwen-boxed", Examples: n, Seed: 1}, splits)
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) != n {
		t.Fatalf("%d examples, want %d", len(examples), n)
	}
	return examples, splits
}

// TestSFTExamples checks the form of every example: the prompt is the qwen-boxed rendering of a
// question; the response ends with a boxed candidate; a hinted response never writes a listed
// answer; concise templates get short responses; no held-out equation appears.
func TestSFTExamples(t *testing.T) {
	examples, splits := buildSFT(t, 4000)
	tmpl, err := tokenizer.TemplateByName("qwen-boxed")
	if err != nil {
		t.Fatal(err)
	}
	shell, err := tmpl.Render("QUESTION")
	if err != nil {
		t.Fatal(err)
	}
	prefix, suffix, _ := strings.Cut(shell, "QUESTION")
	held := map[string]bool{}
	for _, e := range append(append([]Equation(nil), splits.Train...), splits.Val...) {
		e.Wordy = false
		held[e.Question()] = true
		e.Wordy = true
		held[e.Question()] = true
	}
	counts := map[string]int{}
	for i, ex := range examples {
		if !strings.HasPrefix(ex.Prompt, prefix) || !strings.HasSuffix(ex.Prompt, suffix) {
			t.Fatalf("example %d: prompt %q is not a qwen-boxed rendering", i, ex.Prompt)
		}
		question := strings.TrimSuffix(strings.TrimPrefix(ex.Prompt, prefix), suffix)
		base, _, _ := strings.Cut(question, "\n\nHint:")
		if held[base] {
			t.Fatalf("example %d asks a training or validation problem: %q", i, base)
		}
		name := sftTemplate(ex.Prompt)
		counts[name]++
		answer, err := strconv.Atoi(boxed(ex.Response))
		if err != nil || !strings.HasSuffix(ex.Response, `\boxed{`+strconv.Itoa(answer)+`}.`) {
			t.Fatalf("example %d: response %q does not end with a boxed integer", i, ex.Response)
		}
		short := ex.Response == `The answer is \boxed{`+strconv.Itoa(answer)+`}.`
		if (name == lte.TemplateConcise || name == lte.TemplateConciseHint) && !short {
			t.Errorf("example %d (%s): long response %q", i, name, ex.Response)
		}
		if m := listedRe.FindStringSubmatch(ex.Prompt); m != nil {
			listed := strings.Split(strings.ReplaceAll(m[1], "$", ""), ", ")
			if len(listed) > hintMaxAnswers {
				t.Errorf("example %d lists %d answers, more than %d", i, len(listed), hintMaxAnswers)
			}
			for _, written := range intRe.FindAllString(ex.Response, -1) {
				for _, l := range listed {
					if written == l {
						t.Fatalf("example %d: response %q writes the listed answer %s (prompt %q)", i, ex.Response, l, ex.Prompt)
					}
				}
			}
		} else if name == lte.TemplateHint || name == lte.TemplateConciseHint {
			t.Fatalf("example %d: %s prompt lists no answers: %q", i, name, ex.Prompt)
		}
	}
	for _, name := range []string{lte.TemplatePlain, lte.TemplateHint, lte.TemplateConciseHint, lte.TemplateConcise} {
		if counts[name] < 50 {
			t.Errorf("%d %s examples of %d, want at least 50 (counts %v)", counts[name], name, len(examples), counts)
		}
	}
	if share := float64(counts[lte.TemplatePlain]) / float64(len(examples)); math.Abs(share-plainShare) > 0.03 {
		t.Errorf("plain share %.3f, want %.2f", share, plainShare)
	}
	again, _ := buildSFT(t, 4000)
	if !reflect.DeepEqual(again, examples) {
		t.Error("the same seed gave different SFT data")
	}
}

// TestSFTAnswerRates checks the answers of terse search examples against their equations, read
// back from the prompt: plain targets are right as often as the prior says (within 4 standard
// deviations), and hinted targets are right more often.
func TestSFTAnswerRates(t *testing.T) {
	examples, _ := buildSFT(t, 20000)
	type tally struct{ n, correct, expected, variance float64 }
	rates := map[string]*tally{}
	for i, ex := range examples {
		m := equationRe.FindStringSubmatch(ex.Prompt)
		if m == nil {
			continue // a word problem
		}
		e := Equation{A: 1}
		e.K, _ = strconv.Atoi(m[4])
		if m[2] != "" {
			e.A, _ = strconv.Atoi(m[2])
		}
		if m[3] != "" {
			e.B, _ = strconv.Atoi(m[3])
		}
		e.C, _ = strconv.Atoi(m[5])
		if last, _ := strconv.Atoi(m[1]); last != e.K-1 {
			t.Fatalf("example %d: range 0..%d for modulus %d", i, last, e.K)
		}
		for x := range e.K {
			if (e.A*x+e.B)%e.K == e.C {
				e.X = x
			}
		}
		if e.Kind() == Direct {
			continue
		}
		answer, _ := strconv.Atoi(boxed(ex.Response))
		name := sftTemplate(ex.Prompt)
		key := e.Kind().String() + " " + name
		if rates[key] == nil {
			rates[key] = &tally{}
		}
		r := rates[key]
		r.n++
		if answer == e.X {
			r.correct++
		}
		if name == lte.TemplatePlain {
			p := e.Prior()[e.X] // short or rambling, the answer is drawn from the prior
			r.expected += p
			r.variance += p * (1 - p)
		}
	}
	for _, kind := range []string{"search"} {
		plain := rates[kind+" "+lte.TemplatePlain]
		if plain == nil || plain.n < 500 {
			t.Fatalf("too few plain %s examples: %+v", kind, plain)
		}
		if dev := math.Abs(plain.correct - plain.expected); dev > 4*math.Sqrt(plain.variance) {
			t.Errorf("plain %s: %v correct of %v, the prior expects %.1f ± %.1f", kind, plain.correct, plain.n, plain.expected, math.Sqrt(plain.variance))
		}
		for _, name := range []string{lte.TemplateHint, lte.TemplateConciseHint} {
			hinted := rates[kind+" "+name]
			if hinted == nil || hinted.n < 30 {
				continue
			}
			if hinted.correct/hinted.n <= plain.correct/plain.n {
				t.Errorf("%s %s: right %.3f of the time, no more than plain (%.3f)", kind, name, hinted.correct/hinted.n, plain.correct/plain.n)
			}
		}
	}
	if r := rates["search "+lte.TemplateConciseHint]; r == nil || r.n < 500 {
		t.Errorf("too few search concise_hint examples: %+v", r)
	}
}
