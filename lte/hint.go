package lte

import (
	"fmt"
	"os"
	"strings"
	"text/template"
)

// Template names, also written in each sample's record.
const (
	TemplatePlain       = "plain"
	TemplateHint        = "hint"
	TemplateConciseHint = "concise_hint"
	TemplateConcise     = "concise"
)

// Default hint templates. Each rewrites the question; the prompt template (chat format and
// answer instruction) wraps the result as it wraps a plain question. Each tells the model not
// to mention or rely on the hint.
const (
	DefaultHint = `{{.Question}}

Hint: the following answers are incorrect: {{.AnswerList}}. Do not mention this hint or rely on it in your reasoning; solve the problem from the beginning.`
	DefaultConciseHint = `{{.Question}}

Hint: the following answers are incorrect: {{.AnswerList}}. Earlier attempts ran out of space, so reason concisely. Do not mention this hint or rely on it in your reasoning; solve the problem from the beginning.`
	DefaultConcise = `{{.Question}}

Hint: earlier attempts ran out of space, so reason concisely. Do not mention this hint or rely on it in your reasoning; solve the problem from the beginning.`
)

// HintData is what a hint template sees.
type HintData struct {
	Question   string
	Answers    []string // the wrong answers listed, as written by the model
	AnswerList string   // Answers joined with ", ", each in $...$
}

// HintEngine chooses and renders the hint for a none-pass problem.
type HintEngine struct {
	Hint, ConciseHint, Concise *template.Template
	MaxAnswers                 int // answers listed at most (0: no cap)
}

// NewHintEngine parses the three templates; an empty text takes the default, and a text
// starting with "@" is read from that file (older runs recorded a template file so in
// run_config.json; runs now record the text).
func NewHintEngine(hint, conciseHint, concise string, maxAnswers int) (*HintEngine, error) {
	parse := func(name, text, def string) (*template.Template, error) {
		if text == "" {
			text = def
		}
		if strings.HasPrefix(text, "@") {
			raw, err := os.ReadFile(text[1:])
			if err != nil {
				return nil, fmt.Errorf("%s template: %w", name, err)
			}
			text = string(raw)
		}
		t, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("%s template: %w", name, err)
		}
		return t, nil
	}
	e := &HintEngine{MaxAnswers: maxAnswers}
	var err error
	if e.Hint, err = parse(TemplateHint, hint, DefaultHint); err != nil {
		return nil, err
	}
	if e.ConciseHint, err = parse(TemplateConciseHint, conciseHint, DefaultConciseHint); err != nil {
		return nil, err
	}
	if e.Concise, err = parse(TemplateConcise, concise, DefaultConcise); err != nil {
		return nil, err
	}
	return e, nil
}

// Choose picks the template by the truncation status of the group, as LTE does: no response
// truncated lists the wrong answers (hint); some truncated lists them and asks for concision
// (concise_hint); all truncated only asks for concision (concise). With no answer to list the
// hint falls back to concise. It returns the template name and the answers to list.
func (e *HintEngine) Choose(wrongAnswers []string, truncated, total int) (string, []string) {
	if e.MaxAnswers > 0 && len(wrongAnswers) > e.MaxAnswers {
		wrongAnswers = wrongAnswers[:e.MaxAnswers]
	}
	switch {
	case truncated >= total || len(wrongAnswers) == 0:
		return TemplateConcise, nil
	case truncated > 0:
		return TemplateConciseHint, wrongAnswers
	}
	return TemplateHint, wrongAnswers
}

// Render writes the hinted question.
func (e *HintEngine) Render(name, question string, answers []string) (string, error) {
	var t *template.Template
	switch name {
	case TemplateHint:
		t = e.Hint
	case TemplateConciseHint:
		t = e.ConciseHint
	case TemplateConcise:
		t = e.Concise
	default:
		return "", fmt.Errorf("unknown hint template %q", name)
	}
	quoted := make([]string, len(answers))
	for i, a := range answers {
		quoted[i] = "$" + a + "$"
	}
	var sb strings.Builder
	if err := t.Execute(&sb, HintData{Question: question, Answers: answers, AnswerList: strings.Join(quoted, ", ")}); err != nil {
		return "", fmt.Errorf("rendering %s template: %w", name, err)
	}
	return sb.String(), nil
}
