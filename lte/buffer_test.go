package lte

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// numericEqual stands in for the verifier: answers equal as numbers are one mistake.
func numericEqual(a, b string) bool {
	x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return err1 == nil && err2 == nil && x == y
}

func TestReplayBufferDedupAndModes(t *testing.T) {
	cases := []struct {
		mode string
		step int
		want []string
	}{
		{"step", 3, []string{"7"}},
		{"step", 2, []string{"5", "0.5"}},
		{"window=2", 3, []string{"5", "7", "0.5"}},
		{"all", 3, []string{"5", "7", "0.5", "9"}},
	}
	for i, c := range cases {
		mode, err := ParseBufferMode(c.mode)
		if err != nil {
			t.Fatal(err)
		}
		b := NewReplayBuffer(mode, 8, numericEqual)
		b.Record("p", 1, []string{"5", "9", "5.0"}) // 5 and 5.0 are one mistake
		b.Record("p", 2, []string{"5", "0.5", ""})
		b.Record("p", 3, []string{"7"})
		b.Record("q", 3, []string{"1"})
		if c.step == 2 {
			// Seen from step 2's point of view, step 3 has not happened: rebuild.
			b = NewReplayBuffer(mode, 8, numericEqual)
			b.Record("p", 1, []string{"5", "9", "5.0"})
			b.Record("p", 2, []string{"5", "0.5"})
		}
		if got := b.Mistakes("p", c.step, 0); !reflect.DeepEqual(got, c.want) {
			t.Errorf("case %d (%s at step %d): %v, want %v", i, c.mode, c.step, got, c.want)
		}
	}
}

func TestReplayBufferBoundKeepsFrequentAndRecent(t *testing.T) {
	b := NewReplayBuffer(BufferMode{Kind: "all"}, 2, numericEqual)
	b.Record("p", 1, []string{"1", "1", "2"})
	b.Record("p", 2, []string{"3"})
	// 1 (count 2) stays; 2 and 3 tie at count 1 and 3 is more recent.
	if got := b.Mistakes("p", 2, 0); !reflect.DeepEqual(got, []string{"1", "3"}) {
		t.Fatalf("bounded buffer holds %v", got)
	}
	if got := b.Mistakes("p", 2, 1); !reflect.DeepEqual(got, []string{"1"}) {
		t.Fatalf("limit 1: %v", got)
	}
	if b.Problems() != 1 || b.Answers() != 2 {
		t.Fatalf("stats %d problems, %d answers", b.Problems(), b.Answers())
	}
}

func TestReplayBufferSaveRestore(t *testing.T) {
	b := NewReplayBuffer(BufferMode{Kind: "all"}, 4, numericEqual)
	b.Record("p", 1, []string{"1", "2"})
	b.Record("q", 2, []string{"x"})
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	c := NewReplayBuffer(BufferMode{Kind: "all"}, 4, numericEqual)
	if err := json.Unmarshal(raw, c); err != nil {
		t.Fatal(err)
	}
	c.Record("p", 3, []string{"2.0"})
	if got := c.Mistakes("p", 3, 0); !reflect.DeepEqual(got, []string{"2", "1"}) {
		t.Fatalf("restored buffer: %v", got)
	}
	if err := json.Unmarshal([]byte(`{"p":[{"answer":"1","count":0,"steps":[]}]}`), c); err == nil {
		t.Error("malformed buffer accepted")
	}
	if _, err := ParseBufferMode("window=0"); err == nil {
		t.Error("window=0 accepted")
	}
}

func TestHintTemplateChoice(t *testing.T) {
	e, err := NewHintEngine("", "", "", 2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		answers          []string
		truncated, total int
		want             string
		listed           []string
	}{
		{[]string{"1", "2", "3"}, 0, 8, TemplateHint, []string{"1", "2"}},
		{[]string{"1"}, 3, 8, TemplateConciseHint, []string{"1"}},
		{[]string{"1"}, 8, 8, TemplateConcise, nil},
		{nil, 0, 8, TemplateConcise, nil},
	}
	for i, c := range cases {
		name, listed := e.Choose(c.answers, c.truncated, c.total)
		if name != c.want || !reflect.DeepEqual(listed, c.listed) {
			t.Errorf("case %d: %s %v, want %s %v", i, name, listed, c.want, c.listed)
		}
		text, err := e.Render(name, "What is 2+2?", listed)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, "What is 2+2?") || !strings.Contains(text, "Do not mention this hint") {
			t.Errorf("case %d: rendered %q", i, text)
		}
		for _, a := range listed {
			if !strings.Contains(text, "$"+a+"$") {
				t.Errorf("case %d: answer %q not listed in %q", i, a, text)
			}
		}
	}
	if _, err := NewHintEngine("{{.Nope", "", "", 0); err == nil {
		t.Error("malformed template accepted")
	}
}

func TestGroupAdvantages(t *testing.T) {
	adv, zero := GroupAdvantages([]float64{1, 0, 0, 1}, true)
	// mean 0.5, unbiased std sqrt(1/3).
	want := 0.5 / (0.5773502691896258 + 1e-6)
	if zero || abs(adv[0]-want) > 1e-12 || abs(adv[1]+want) > 1e-12 {
		t.Fatalf("advantages %v (zero %v), want ±%g", adv, zero, want)
	}
	adv, _ = GroupAdvantages([]float64{1, 0, 0, 0}, false)
	if adv[0] != 0.75 || adv[1] != -0.25 {
		t.Fatalf("Dr. GRPO advantages %v", adv)
	}
	adv, zero = GroupAdvantages([]float64{0, 0, 0}, true)
	if !zero || adv[0] != 0 {
		t.Fatalf("zero-variance group: %v %v", adv, zero)
	}
	passed, st := Classify([]float64{0, 1, 0})
	if passed != 1 || st.SomePass != 1 {
		t.Fatalf("classify: %d %+v", passed, st)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestReplayBufferKeepsThisStepsMistakes: frequent old mistakes never push out the answers of
// the step being recorded, so step mode's hint lists them and the hint template is chosen.
func TestReplayBufferKeepsThisStepsMistakes(t *testing.T) {
	for _, mode := range []string{"step", "window=2", "all"} {
		m, _ := ParseBufferMode(mode)
		b := NewReplayBuffer(m, 2, numericEqual)
		for s := 1; s <= 3; s++ {
			b.Record("p", s, []string{"1", "1", "2", "2"})
		}
		b.Record("p", 4, []string{"3", "4", "5", "3"})
		got := b.Mistakes("p", 4, 0)
		want := []string{"3", "4", "5"}
		if mode != "step" {
			want = []string{"3"} // count 2, then the rest by count
			if !reflect.DeepEqual(got[:1], want) || len(got) != 3 {
				t.Errorf("%s: step 4 lists %v, want 3 first and 4, 5 kept", mode, got)
			}
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: step 4 lists %v, want %v", mode, got, want)
		}
		e, _ := NewHintEngine("", "", "", 8)
		if name, listed := e.Choose(b.Mistakes("p", 4, 0), 0, 8); name != TemplateHint || len(listed) != 3 {
			t.Errorf("%s: nothing truncated but template %s listing %v", mode, name, listed)
		}
		// The next step brings the bound back: its own mistake and the most frequent older one.
		b.Record("p", 5, []string{"6"})
		if got := b.Answers(); got != 2 {
			t.Errorf("%s: %d mistakes held after step 5, want the bound 2", mode, got)
		}
		if got := b.Mistakes("p", 5, 0); mode == "step" && !reflect.DeepEqual(got, []string{"6"}) {
			t.Errorf("%s: step 5 lists %v, want [6]", mode, got)
		}
	}
}
