package verify

import (
	"strings"
	"testing"
)

// reasoning is a few hundred words of typical model reasoning with inline math.
const reasoning = `Let me think about this problem step by step. We are given that the function $f(x) = x^2 - 4x + 3$
satisfies certain conditions, and we need to find the requested quantity. First, I will factor the
quadratic: $f(x) = (x-1)(x-3)$, so the roots are $x = 1$ and $x = 3$. The vertex of the parabola is at
$x = \frac{-b}{2a} = \frac{4}{2} = 2$, where $f(2) = 4 - 8 + 3 = -1$. Now consider the second condition.
We have $a + b = 10$ and $ab = 21$, so $a$ and $b$ are the roots of $t^2 - 10t + 21 = 0$, which gives
$t = 3$ or $t = 7$. Wait, let me double check this computation: $3 + 7 = 10$ and $3 \cdot 7 = 21$, so
that is correct. Next, we need the sum of the squares: $a^2 + b^2 = (a+b)^2 - 2ab = 100 - 42 = 58$.
Hmm, but the problem asks for something slightly different. Let me re-read the problem statement.
We want the area of the region bounded by the curve and the line $y = x - 1$. Setting
$x^2 - 4x + 3 = x - 1$ gives $x^2 - 5x + 4 = 0$, so $x = 1$ or $x = 4$. The area is
\[ \int_1^4 \left( (x - 1) - (x^2 - 4x + 3) \right) dx = \int_1^4 (-x^2 + 5x - 4)\, dx. \]
Computing the antiderivative, we get $-\frac{x^3}{3} + \frac{5x^2}{2} - 4x$, and evaluating from
$1$ to $4$ gives $\left(-\frac{64}{3} + 40 - 16\right) - \left(-\frac{1}{3} + \frac{5}{2} - 4\right)$.
The first bracket is $\frac{8}{3}$ and the second is $-\frac{11}{6}$, so the difference is
$\frac{16}{6} + \frac{11}{6} = \frac{27}{6} = \frac{9}{2}$. Let me verify this once more using the formula
for the area between a parabola and a secant line: the area equals $\frac{|a|}{6}(x_2 - x_1)^3$ where
$a = 1$ is the leading coefficient, so the area is $\frac{1}{6} \cdot 27 = \frac{9}{2}$. Both methods
agree, which gives me confidence in the result. Therefore, combining everything, the final answer is
`

// benchCases pair a boxed answer with a gold answer written differently.
var benchCases = []struct{ answer, gold string }{
	{`\frac{9}{2}`, "4.5"},
	{`204`, "204"},
	{`\dfrac{\sqrt{3}}{2}`, `\frac{\sqrt 3}{2}`},
	{`(3, \frac{\pi}{2})`, `\left( 3, \frac{\pi}{2} \right)`},
	{`(-\infty, 2) \cup (3, \infty)`, `(-\infty,2)\cup(3,\infty)`},
	{`x^2 + 2x + 1`, `(x+1)^2`},
	{`1 \pm \sqrt{19}`, `1 \pm \sqrt{19}`},
	{`\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`, `\begin{pmatrix}1&2\\3&4\end{pmatrix}`},
	{`10,\!080`, "10080"},
	{`\text{(C)}`, "C"},
}

// BenchmarkVerify measures single-core verifications per second on long responses ending in
// a boxed answer. Run: go test ./lte/verify -run '^$' -bench BenchmarkVerify -cpu 1
func BenchmarkVerify(b *testing.B) {
	responses := make([]string, len(benchCases))
	words := 0
	for i, c := range benchCases {
		responses[i] = reasoning + `$\boxed{` + c.answer + `}$.`
		words += len(strings.Fields(responses[i]))
	}
	for i := 0; b.Loop(); i++ {
		c := i % len(benchCases)
		if !Verify(responses[c], benchCases[c].gold).Correct {
			b.Fatalf("case %d judged incorrect", c)
		}
	}
	b.ReportMetric(float64(words)/float64(len(responses)), "words/response")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
