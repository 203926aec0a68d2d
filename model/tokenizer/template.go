package tokenizer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/template"
)

// PromptData is what a prompt template is executed with: {{.Question}} is the problem text.
type PromptData struct {
	Question string
}

// Template is a prompt template: a text/template that renders a PromptData into the text the
// model is given (before tokenization). The built-in ones are listed by TemplateNames.
type Template struct {
	name string
	tmpl *template.Template
}

// builtinTemplates are the templates known by name.
var builtinTemplates = map[string]string{
	// A Qwen chat turn asking for step-by-step reasoning and a boxed answer, with the
	// assistant's turn opened (the chain-of-thought prompt of Qwen2.5-Math).
	"qwen-boxed": "<|im_start|>user\n{{.Question}} Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n",
	// The bare question and an answer cue, for base models without a chat format.
	"plain": "{{.Question}}\nAnswer:",
}

// TemplateNames returns the names of the built-in templates, sorted.
func TemplateNames() []string {
	names := make([]string, 0, len(builtinTemplates))
	for name := range builtinTemplates {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TemplateByName returns the built-in template called name.
func TemplateByName(name string) (*Template, error) {
	text, ok := builtinTemplates[name]
	if !ok {
		return nil, fmt.Errorf("prompt template %q is not built in (built in: %s; or give a template file)",
			name, strings.Join(TemplateNames(), ", "))
	}
	return ParseTemplate(name, text)
}

// LoadTemplate reads a template file: text/template source executed with a PromptData.
func LoadTemplate(path string) (*Template, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prompt template: %w", err)
	}
	return ParseTemplate(path, string(text))
}

// FindTemplate returns the built-in template called spec if there is one, and otherwise the
// template in the file spec. It suits a command-line flag that takes either.
func FindTemplate(spec string) (*Template, error) {
	if _, ok := builtinTemplates[spec]; ok {
		return TemplateByName(spec)
	}
	t, err := LoadTemplate(spec)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("prompt template %q is neither built in (%s) nor a file: %w",
			spec, strings.Join(TemplateNames(), ", "), err)
	}
	return t, err
}

// ParseTemplate parses text/template source into a Template called name. It executes the
// template once on a sample question, so a template that refers to anything but .Question
// fails here rather than at its first use.
func ParseTemplate(name, text string) (*Template, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("prompt template %s: %w", name, err)
	}
	t := &Template{name: name, tmpl: tmpl}
	if _, err := t.Render("What is 1+1?"); err != nil {
		return nil, err
	}
	return t, nil
}

// Name returns the template's name: the built-in name, or the path of its file.
func (t *Template) Name() string { return t.name }

// Render returns the prompt for question. The question is inserted as is: text/template does
// no escaping.
func (t *Template) Render(question string) (string, error) {
	var b strings.Builder
	if err := t.tmpl.Execute(&b, PromptData{Question: question}); err != nil {
		return "", fmt.Errorf("prompt template %s: %w", t.name, err)
	}
	return b.String(), nil
}
