package verify

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	cases := []struct {
		response string
		want     string
		ok       bool
	}{
		{`so $\boxed{42}$.`, "42", true},
		{`nested \boxed{\frac{1}{\sqrt{2}}} here`, `\frac{1}{\sqrt{2}}`, true},
		{`braces \boxed{\{1,2\}}`, `\{1,2\}`, true},
		{`first \boxed{1}, later \boxed{2} only`, "1, 2", true},
		{`first \boxed{1}. Let me check the arithmetic once more. Finally \boxed{2}`, "2", true},
		{`\boxed 7.`, "7", true},
		{`\fbox{3}`, "3", true},
		{`\framebox[2cm]{5}`, "5", true},
		{`\boxed{\boxed{8}}`, `8`, true},
		{`\boxed{ \fbox{\boxed{8}} }`, `8`, true},
		{`\boxed{x = \boxed{8}}`, `x = \boxed{8}`, true},
		{`\boxed{}`, "", false},
		{`\boxed{1} and \boxed{2} and \boxed{3}`, "1, 2, 3", true},
		{`\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}`, "(2, 2), (6, 2)", true},
		{`\boxed{5} and \boxed{5}`, "5", true},
		{`\boxed{12`, "12", true},
		{`\boxedfoo{3} plain 4`, "4", true},
		{"The final answer is $28 \\%$. I hope it is correct.", `28 \%`, true},
		{"Final Answer: The largest $n$ is 34.", "34", true},
		{"the answer is: \\frac{1}{2}", `\frac{1}{2}`, true},
		{"The answer is (B) because of symmetry.", "B", true},
		{"Answer: Evelyn", "Evelyn", true},
		{"**Answer:** 12", "12", true},
		{"I checked my answer carefully.\nSo the total is 7", "7", true},
		{"text\n#### 1,234", "1,234", true},
		{"<think>\\boxed{3}</think>The answer is \\boxed{4}", "4", true},
		{"<think>\\boxed{3}</think>", "", false},
		{"<think>still thinking \\boxed{3}", "3", true},
		{"We get $x = 2$ and $y = 3$", "x = 2, y = 3", true},
		{"The roots are $1$ and $2$", "1, 2", true},
		{"so it is 2/3.", "2/3", true},
		{"Total: $1,000.99€", "1,000.99", true},
		{"a loss of 28 percent", "28 percent", true},
		{"XYZ2K", "", false},
		{"no digits or math here", "", false},
		{`\frac{10}{9}`, `\frac{10}{9}`, true},
		{"", "", false},
	}
	for i, c := range cases {
		got, ok := Extract(c.response)
		if got != c.want || ok != c.ok {
			t.Errorf("case %d: Extract(%q) = %q, %v; want %q, %v", i, c.response, got, ok, c.want, c.ok)
		}
	}
}

func TestLastBoxed(t *testing.T) {
	for i, c := range []struct{ in, want string }{
		{`a \boxed{1} b \boxed{2}`, "2"},
		{`\boxed{1}, \boxed{2}`, "2"},
		{"\\[ I(t)=\\boxed{I(0) e^{-\\frac{t}{R C}}\n}\\]", `I(0) e^{-\frac{t}{R C}}`},
		{`\boxed{\left[ x \right\}}`, `\left[ x \right\}`},
	} {
		if got, ok := LastBoxed(c.in); !ok || got != c.want {
			t.Errorf("case %d: LastBoxed(%q) = %q, %v; want %q", i, c.in, got, ok, c.want)
		}
	}
	if _, ok := LastBoxed("no box"); ok {
		t.Error("LastBoxed found a box in text without one")
	}
}

// Many unclosed boxes or delimiters must cost linear time: the scans stop at the first
// unclosed one. The box scan counts the bytes it examines, which must stay within a few
// passes over the text (a scan that searched the rest again from each of the 50,000 unclosed
// boxes would examine about 10⁹ bytes); Extract must return on each text.
func TestExtractUnclosedIsLinear(t *testing.T) {
	for i, s := range []string{
		strings.Repeat(`\boxed{`, 50000),
		strings.Repeat(`\(`, 50000),
		strings.Repeat("$$ ", 50000),
		strings.Repeat("answer: ", 50000),
	} {
		if _, scanned := scanBoxes(s); scanned > 4*len(s) {
			t.Errorf("case %d: the box scan examined %d bytes of a %d-byte text", i, scanned, len(s))
		}
		Extract(s)
	}
}

func TestMathSegments(t *testing.T) {
	s := `a $x$ b $$y$$ c \(z\) d \[w\] e \$5 f $p\$q$ g $` + "\n" + `$`
	var got []string
	for _, g := range mathSegments(s) {
		got = append(got, s[g.cstart:g.cend])
	}
	want := []string{"x", "y", "z", "w", `p\$q`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("mathSegments = %q, want %q", got, want)
	}
}

// TestBoxScanIsLinear counts the bytes the box scan examines on texts made of thousands of
// boxes, empty, filled, unclosed or misspelt: a scan that searched the rest of the text again
// for each box (n²/16 bytes for 22,000 empty boxes) fails the bound of a few passes.
func TestBoxScanIsLinear(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		boxes int
	}{
		{"empty boxes", strings.Repeat(`\boxed{}`, 22000), 0},
		{"filled boxes", strings.Repeat(`\boxed{1} x `, 22000), 22000},
		{"mixed commands", strings.Repeat(`\fbox{2}\boxed{}\framebox[1cm]{3} `, 8000), 16000},
		{"unclosed options", strings.Repeat(`\boxed[`, 22000), 1},
		{"misspelt", strings.Repeat(`\boxedx{1}`, 22000), 0},
		{"bare arguments", strings.Repeat(`\boxed 7 `, 22000), 22000},
	}
	for _, c := range cases {
		got, scanned := scanBoxes(c.text)
		if len(got) != c.boxes {
			t.Errorf("%s: %d boxes, want %d", c.name, len(got), c.boxes)
		}
		if limit := 4 * len(c.text); scanned > limit {
			t.Errorf("%s: scanned %d bytes of a %d-byte text, more than %d", c.name, scanned, len(c.text), limit)
		}
	}
	if v := Verify(strings.Repeat(`\boxed{}`, 22000)+`\boxed{4}`, "4"); !v.Correct {
		t.Errorf("22,000 empty boxes then \\boxed{4}: %+v", v)
	}
}
