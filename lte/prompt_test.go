package lte

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/model/tokenizer"
)

// userSpan returns where the user text of problem p sits in its plain prompt, found without
// PromptText: a template's {{.Question}} slot, or the content of the last user message.
func userSpan(t *testing.T, tmpl *tokenizer.Template, p Problem, plain string) (int, int) {
	t.Helper()
	var pre string
	if len(p.Messages) == 0 {
		const mark = "\x00USER\x00"
		full, err := tmpl.Render(mark)
		if err != nil {
			t.Fatal(err)
		}
		pre = full[:strings.Index(full, mark)]
	} else {
		last := 0
		for i, m := range p.Messages {
			if m.Role == "user" {
				last = i
			}
		}
		for _, m := range p.Messages[:last] {
			pre += "<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n"
		}
		pre += "<|im_start|>user\n"
	}
	if !strings.HasPrefix(plain[len(pre):], p.Question) {
		t.Fatalf("plain prompt %q does not hold the question %q after %q", plain, p.Question, pre)
	}
	return len(pre), len(pre) + len(p.Question)
}

// checkOnlyUserTextDiffers fails unless hinted is plain with its user text [u0, u1) replaced:
// it keeps everything before and after.
func checkOnlyUserTextDiffers(t *testing.T, label, plain, hinted string, u0, u1 int) {
	t.Helper()
	if !strings.HasPrefix(hinted, plain[:u0]) || !strings.HasSuffix(hinted, plain[u1:]) || len(hinted) < u0+len(plain)-u1 {
		t.Errorf("%s: hinted prompt changes the plain one outside its user text [%d, %d)\nplain:  %q\nhinted: %q", label, u0, u1, plain, hinted)
	}
}

func chatProblems() []Problem {
	var out []Problem
	for i := 0; i < 6; i++ {
		q := fmt.Sprintf("What is %d+%d? Put the answer in \\boxed{}.", i, i)
		msgs := []Message{{Role: "system", Content: "You are a careful solver."}, {Role: "user", Content: q}}
		if i%2 == 1 {
			msgs = []Message{{Role: "system", Content: "Solve it."}, {Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "\\boxed{2}"}, {Role: "user", Content: q}}
		}
		out = append(out, Problem{ID: fmt.Sprint("c", i), Question: q, Answer: fmt.Sprint(2 * i), Messages: msgs})
	}
	return out
}

func TestPromptTextHintOnlyInUserText(t *testing.T) {
	hints, err := NewHintEngine("", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	problems := append(chatProblems(), Problem{ID: "q", Question: "What is 2+2?", Answer: "4"})
	for _, name := range tokenizer.TemplateNames() {
		tmpl, _ := tokenizer.TemplateByName(name)
		for _, p := range problems {
			plain, err := PromptText(tmpl, p, p.Question)
			if err != nil {
				t.Fatal(err)
			}
			u0, u1 := userSpan(t, tmpl, p, plain)
			for _, tn := range []string{TemplateHint, TemplateConciseHint, TemplateConcise} {
				q, err := hints.Render(tn, p.Question, []string{"3", "5"})
				if err != nil {
					t.Fatal(err)
				}
				hinted, err := PromptText(tmpl, p, q)
				if err != nil {
					t.Fatal(err)
				}
				checkOnlyUserTextDiffers(t, name+"/"+p.ID+"/"+tn, plain, hinted, u0, u1)
			}
		}
	}
	if _, err := PromptText(nil, Problem{Question: "x", Messages: []Message{{Role: "system", Content: "s"}}}, "x"); err == nil {
		t.Error("a chat prompt without a user message was accepted")
	}
}

// TestTrainerHintsChatProblems runs LTE on chat-format and on plain problems under every
// built-in template and checks every hinted prompt it sampled from against its problem's
// plain prompt.
func TestTrainerHintsChatProblems(t *testing.T) {
	modelDir := tinyRun(t)
	plainProblems := []Problem{{ID: "q0", Question: "What is 1+2?", Answer: "3"}, {ID: "q1", Question: "What is 2+2?", Answer: "4"}, {ID: "q2", Question: "What is 3+2?", Answer: "5"}}
	for _, name := range tokenizer.TemplateNames() {
		for _, problems := range [][]Problem{chatProblems(), plainProblems} {
			cfg := tinyConfig(AlgoLTE)
			cfg.Steps, cfg.Loss.KLCoef = 2, 0
			rd, err := CreateRunDir(filepath.Join(t.TempDir(), "run"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			tr := newTinyTrainerOn(t, modelDir, cfg, name, problems)
			runTo(t, tr, rd, modelDir)
			rd.Close()
			samples, err := ReadSamples(filepath.Join(rd.Dir, SamplesFile))
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]Problem{}
			for _, p := range problems {
				byID[p.ID] = p
			}
			hinted := 0
			for _, s := range samples {
				p := byID[s.ProblemID]
				plain, err := PromptText(tr.Prompt, p, p.Question)
				if err != nil {
					t.Fatal(err)
				}
				if !s.Hinted {
					if s.Prompt != plain {
						t.Errorf("%s: plain prompt %q, want %q", name, s.Prompt, plain)
					}
					continue
				}
				hinted++
				u0, u1 := userSpan(t, tr.Prompt, p, plain)
				checkOnlyUserTextDiffers(t, name+"/"+p.ID, plain, s.Prompt, u0, u1)
			}
			if hinted == 0 {
				t.Errorf("%s: no hinted samples in %d", name, len(samples))
			}
		}
	}
}
