package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinTemplates(t *testing.T) {
	question := "What is $1+1$?"
	cases := map[string]string{
		"qwen-boxed": "<|im_start|>user\nWhat is $1+1$? Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n",
		"plain":      "What is $1+1$?\nAnswer:",
	}
	if got := TemplateNames(); !slices.Equal(got, []string{"plain", "qwen-boxed"}) {
		t.Errorf("TemplateNames = %q", got)
	}
	for name, want := range cases {
		tmpl, err := TemplateByName(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.Render(question)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || tmpl.Name() != name {
			t.Errorf("%s renders %q, want %q", tmpl.Name(), got, want)
		}
	}
}

// TestQwenBoxedTokens checks that the chat markers of qwen-boxed become single special tokens.
func TestQwenBoxedTokens(t *testing.T) {
	tok := qwen3(t)
	tmpl, err := TemplateByName("qwen-boxed")
	if err != nil {
		t.Fatal(err)
	}
	prompt, err := tmpl.Render("Compute $2^{10}$.")
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(prompt)
	start, _ := tok.TokenID("<|im_start|>")
	end, _ := tok.TokenID("<|im_end|>")
	if ids[0] != start || slices.Index(ids, end) < 0 || ids[len(ids)-3] != start {
		t.Errorf("qwen-boxed prompt ids %v lack <|im_start|> ... <|im_end|> ... <|im_start|>assistant\\n", ids)
	}
	if got := tok.Decode(ids); got != prompt {
		t.Errorf("Decode(Encode(prompt)) = %q, want %q", got, prompt)
	}
}

func TestTemplateFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hint.tmpl")
	if err := os.WriteFile(path, []byte("Q: {{.Question}}\nA: <b>"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl, err := FindTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tmpl.Render("x < y & z"); err != nil || got != "Q: x < y & z\nA: <b>" {
		t.Errorf("Render = %q, %v; want the question unescaped", got, err)
	}
	if tmpl.Name() != path {
		t.Errorf("Name = %q, want %q", tmpl.Name(), path)
	}
	if tmpl, err := FindTemplate("plain"); err != nil || tmpl.Name() != "plain" {
		t.Errorf("FindTemplate(plain) = %v, %v; want the built-in", tmpl, err)
	}

	bad := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(bad, []byte("{{.Answer}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]string{
		bad:                             "Answer",
		filepath.Join(dir, "none.tmpl"): "neither built in",
		"qwen":                          "plain, qwen-boxed",
	} {
		if _, err := FindTemplate(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FindTemplate(%q): error %v, want one containing %q", spec, err, want)
		}
	}
	if _, err := ParseTemplate("broken", "{{.Question"); err == nil {
		t.Error("ParseTemplate accepted unbalanced braces")
	}
	if _, err := TemplateByName("qwen"); err == nil || !strings.Contains(err.Error(), "qwen-boxed") {
		t.Errorf("TemplateByName(qwen): error %v, want one listing the built-ins", err)
	}
}
