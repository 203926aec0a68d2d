package verify

import "testing"

// TestOutOfFloatRange: values beyond float64's range are not rounded to 0 or infinity and
// then judged by tolerance; a value that has not been computed is never equal to another.
func TestOutOfFloatRange(t *testing.T) {
	cases := []struct {
		pred, gold string
		want       bool
	}{
		{`10^{-10^{10}}`, `0`, false},
		{`0`, `10^{-10^{10}}`, false},
		{`2^{-10^{6}}`, `0`, false},
		{`\frac{1}{10^{10^{10}}}`, `0`, false},
		{`\left(\frac{1}{2}\right)^{10^{10}}`, `0`, false},
		{`10^{-10^{10}} \cdot 3`, `0`, false},
		{`e^{-10^{6}}`, `0`, false},
		{`\sqrt{2} \cdot 10^{-400}`, `0`, false},
		{`10^{-200} \cdot \sqrt{2} \cdot 10^{-200}`, `0`, false},
		{`10^{10^{10}}`, `10^{10^{10}}+1`, false},
		{`10^{10^{10}}`, `2 \cdot 10^{10^{10}}`, false},
		{`10^{-10^{10}}`, `2 \cdot 10^{-10^{10}}`, false},
		{`\sqrt{2} \cdot 10^{400}`, `\sqrt{3} \cdot 10^{400}`, false},
		{`e^{10^{6}}`, `e^{10^{6}}+1`, false},
		// Same expression: equal by structure, whatever its size.
		{`10^{-10^{10}}`, `10^{-10^{10}}`, true},
		{`10^{10^{10}}`, `10^{10^{10}}`, true},
		// In range, still numeric.
		{`10^{-300}`, `0`, false},
		{`\sqrt{2} \cdot 10^{-5}`, `\frac{\sqrt{8}}{2} \cdot 10^{-5}`, true},
		{`1.0 \times 10^{400}`, `10^{400}`, true},
	}
	for i, c := range cases {
		v := Verify(`\boxed{`+c.pred+`}`, c.gold)
		if v.Correct != c.want {
			t.Errorf("case %d: %s against gold %s: correct = %v (%s), want %v", i, c.pred, c.gold, v.Correct, v.Reason, c.want)
		}
		if got := Equivalent(c.pred, c.gold); got != c.want {
			t.Errorf("case %d: Equivalent(%s, %s) = %v, want %v", i, c.pred, c.gold, got, c.want)
		}
	}
}
