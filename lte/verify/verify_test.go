package verify

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// verifyCase is one response judged against one gold answer.
type verifyCase struct {
	category string
	response string // a bare answer is boxed before verification unless raw is set
	gold     string
	want     bool
	raw      bool // the response is a full text: do not box it
}

// verifyCases is the verdict table: true and false verdicts in every category.
var verifyCases = []verifyCase{
	// Extraction.
	{category: "extract", raw: true, response: `So the sum is $\boxed{42}$.`, gold: "42", want: true},
	{category: "extract", raw: true, response: `First $\boxed{41}$ was wrong; recomputing gives $\boxed{42}$.`, gold: "42", want: true},
	{category: "extract", raw: true, response: `First $\boxed{42}$ was wrong; recomputing gives $\boxed{41}$.`, gold: "42", want: false},
	{category: "extract", raw: true, response: `Hence \boxed{\frac{\sqrt{3}}{2}} is the value.`, gold: `\frac{\sqrt3}{2}`, want: true},
	{category: "extract", raw: true, response: `The count is \boxed 7.`, gold: "7", want: true},
	{category: "extract", raw: true, response: `The count is \boxed 7.`, gold: "8", want: false},
	{category: "extract", raw: true, response: `We get \fbox{12}.`, gold: "12", want: true},
	{category: "extract", raw: true, response: `We get \framebox{12} minutes.`, gold: "12", want: true},
	{category: "extract", raw: true, response: `Answer: \boxed{\boxed{5}}`, gold: "5", want: true},
	{category: "extract", raw: true, response: `\boxed{x = \boxed{3}}`, gold: "3", want: true},
	{category: "extract", raw: true, response: `Thus the final answer is 17. I hope it is correct.`, gold: "17", want: true},
	{category: "extract", raw: true, response: `Thus the final answer is $\frac{3}{4}$.`, gold: "0.75", want: true},
	{category: "extract", raw: true, response: `After simplifying, the answer is 3/4.`, gold: `\frac34`, want: true},
	{category: "extract", raw: true, response: "Some work.\nAnswer: 256", gold: "256", want: true},
	{category: "extract", raw: true, response: "Some work.\nAnswer: 255", gold: "256", want: false},
	{category: "extract", raw: true, response: "**Final Answer:** $x = 9$", gold: "9", want: true},
	{category: "extract", raw: true, response: "<think>maybe \\boxed{3}</think>The answer is \\boxed{4}.", gold: "4", want: true},
	{category: "extract", raw: true, response: "<think>maybe \\boxed{3}</think>The answer is \\boxed{4}.", gold: "3", want: false},
	{category: "extract", raw: true, response: "<think>I compute and get 10.</think>\n\n**Answer:** 10", gold: "10", want: true},
	{category: "extract", raw: true, response: `I am not sure how to solve this problem.`, gold: "5", want: false},
	{category: "extract", raw: true, response: ``, gold: "5", want: false},
	{category: "extract", raw: true, response: `The solutions are \boxed{2} and \boxed{3}.`, gold: "2, 3", want: true},
	{category: "extract", raw: true, response: `The solutions are \boxed{2} and \boxed{3}.`, gold: "2", want: false},
	{category: "extract", raw: true, response: `Unclosed box at the end: \boxed{12`, gold: "12", want: true},
	{category: "extract", raw: true, response: `We find $x = 4$, and therefore the area is $16$.`, gold: "16", want: true},
	{category: "extract", raw: true, response: `The largest prime factor is 13`, gold: "13", want: true},
	{category: "extract", raw: true, response: `Our answer is \boxed{20}. We may check it: 4 times 5 is 20, so the answer is correct.`, gold: "20", want: true},

	// Normalisation.
	{category: "normalize", response: `$\dfrac{1}{2}$`, gold: `\frac{1}{2}`, want: true},
	{category: "normalize", response: `\tfrac{1}{2}`, gold: `0.5`, want: true},
	{category: "normalize", response: `\left( \frac{1}{2} \right)`, gold: `1/2`, want: true},
	{category: "normalize", response: `\displaystyle \frac{2}{3}`, gold: `2/3`, want: true},
	{category: "normalize", response: `10,\!080`, gold: "10080", want: true},
	{category: "normalize", response: `1,000`, gold: "1000", want: true},
	{category: "normalize", response: `1,000,000`, gold: "10^6", want: true},
	{category: "normalize", response: `1,001`, gold: "1000", want: false},
	{category: "normalize", response: `\$18.90`, gold: "18.9", want: true},
	{category: "normalize", response: `\$32,\!348`, gold: "32348", want: true},
	{category: "normalize", response: `5.4 \text{ cents}`, gold: "5.4", want: true},
	{category: "normalize", response: `15\mbox{ cm}^2`, gold: "15", want: true},
	{category: "normalize", response: `125 miles`, gold: "125", want: true},
	{category: "normalize", response: `864 \mbox{ inches}^2`, gold: "864", want: true},
	{category: "normalize", response: `12 \text{ km/h}`, gold: "12", want: true},
	{category: "normalize", response: `13 \text{ km/h}`, gold: "12", want: false},
	{category: "normalize", response: `9.8 m/s^2`, gold: "9.8", want: true},
	{category: "normalize", response: `\text{5}`, gold: "5", want: true},
	{category: "normalize", response: `\textbf{7}`, gold: "7", want: true},
	{category: "normalize", response: `\mathrm{7}.`, gold: "7", want: true},
	{category: "normalize", response: `x = 5`, gold: "5", want: true},
	{category: "normalize", response: `5`, gold: "x = 5", want: true},
	{category: "normalize", response: `y = 5`, gold: "x = 5", want: false},
	{category: "normalize", response: `x = 6`, gold: "5", want: false},
	{category: "normalize", response: `3\!\cdot\!4`, gold: "12", want: true},
	{category: "normalize", response: `0.5.`, gold: "1/2", want: true},
	{category: "normalize", response: `004`, gold: "4", want: true},
	{category: "normalize", response: `\frac{270}7\text{ degrees}`, gold: `\frac{270}{7}`, want: true},

	// Degrees and percent.
	{category: "degree", response: `90^\circ`, gold: "90", want: true},
	{category: "degree", response: `90^{\circ}`, gold: `90^\circ`, want: true},
	{category: "degree", response: `90`, gold: `90^\circ`, want: true},
	{category: "degree", response: `45°`, gold: `45^\circ`, want: true},
	{category: "degree", response: `\frac{\pi}{2}`, gold: `90^\circ`, want: true},
	{category: "degree", response: `60^\circ`, gold: `90^\circ`, want: false},
	{category: "degree", response: `120 degrees`, gold: `120^\circ`, want: true},
	{category: "percent", response: `28\%`, gold: `28\%`, want: true},
	{category: "percent", response: `28`, gold: `28\%`, want: true},
	{category: "percent", response: `0.28`, gold: `28\%`, want: true},
	{category: "percent", response: `28 percent`, gold: `28\%`, want: true},
	{category: "percent", response: `27\%`, gold: `28\%`, want: false},
	{category: "percent", response: `2.8`, gold: `28\%`, want: false},
	{category: "percent", response: `12.5\%`, gold: `\frac{1}{8}`, want: true},

	// Numbers: integers, fractions, decimals, scientific notation.
	{category: "number", response: `\frac{1}{2}`, gold: "0.5", want: true},
	{category: "number", response: `1/2`, gold: `\frac{1}{2}`, want: true},
	{category: "number", response: `\frac12`, gold: `\frac{1}{2}`, want: true},
	{category: "number", response: `\frac{2}{4}`, gold: `\frac{1}{2}`, want: true},
	{category: "number", response: `\frac{1}{3}`, gold: `\frac{1}{2}`, want: false},
	{category: "number", response: `0.3333`, gold: `\frac{1}{3}`, want: true},
	{category: "number", response: `0.33`, gold: `\frac{1}{3}`, want: false},
	{category: "number", response: `-\frac{3}{8}`, gold: `-0.375`, want: true},
	{category: "number", response: `\frac{-3}{8}`, gold: `-\frac{3}{8}`, want: true},
	{category: "number", response: `\frac{3}{8}`, gold: `-\frac{3}{8}`, want: false},
	{category: "number", response: `.35625`, gold: `0.35625`, want: true},
	{category: "number", response: `70`, gold: `70.0`, want: true},
	{category: "number", response: `71`, gold: `70.0`, want: false},
	{category: "number", response: `4.5 \times 10^{33}`, gold: `4.5e33`, want: true},
	{category: "number", response: `4.6 \times 10^{33}`, gold: `4.5e33`, want: false},
	{category: "number", response: `1.77 \times 10^{-6}`, gold: `1.77e-6`, want: true},
	{category: "number", response: `3e8`, gold: `300000000`, want: true},
	{category: "number", response: `137 \frac{1}{2}`, gold: `137.5`, want: true},
	{category: "number", response: `1\frac{4}{5}`, gold: `\frac{9}{5}`, want: true},
	{category: "number", response: `2^{10}`, gold: `1024`, want: true},
	{category: "number", response: `2^{1009}`, gold: `2^{1009}`, want: true},
	{category: "number", response: `2^{1009}+1`, gold: `2^{1009}`, want: false},
	{category: "number", response: `\frac{100!}{2^{50}}`, gold: `\frac{100!}{2^{50}}`, want: true},
	{category: "number", response: `5!`, gold: `120`, want: true},
	{category: "number", response: `\binom{6}{2}`, gold: `15`, want: true},
	{category: "number", response: `{6 \choose 3}`, gold: `20`, want: true},
	{category: "number", response: `\binom{6}{2}`, gold: `16`, want: false},
	{category: "number", response: `16386.17`, gold: `16386.16`, want: true},
	{category: "number", response: `16387`, gold: `16386.16`, want: false},

	// Roots, constants, functions.
	{category: "expression", response: `\sqrt{2}/2`, gold: `\frac{\sqrt 2}{2}`, want: true},
	{category: "expression", response: `\frac{1}{\sqrt{2}}`, gold: `\frac{\sqrt{2}}{2}`, want: true},
	{category: "expression", response: `0.7071`, gold: `\frac{\sqrt{2}}{2}`, want: true},
	{category: "expression", response: `\sqrt{3}/2`, gold: `\frac{\sqrt 2}{2}`, want: false},
	{category: "expression", response: `2\sqrt{5}`, gold: `\sqrt{20}`, want: true},
	{category: "expression", response: `3\sqrt{13}`, gold: `\sqrt{117}`, want: true},
	{category: "expression", response: `\sqrt[3]{16}`, gold: `2\sqrt[3]{2}`, want: true},
	{category: "expression", response: `\sqrt[3]{-8}`, gold: `-2`, want: true},
	{category: "expression", response: `4\sqrt{2}`, gold: `4`, want: false},
	{category: "expression", response: `2\pi`, gold: `2 \pi`, want: true},
	{category: "expression", response: `6.2832`, gold: `2\pi`, want: true},
	{category: "expression", response: `\pi r^2`, gold: `r^2\pi`, want: true},
	{category: "expression", response: `e^2`, gold: `e^{2}`, want: true},
	{category: "expression", response: `\ln 8`, gold: `3\ln 2`, want: true},
	{category: "expression", response: `\log_2 8`, gold: `3`, want: true},
	{category: "expression", response: `\log_{10} 1000`, gold: `3`, want: true},
	{category: "expression", response: `\sin^2 x + \cos^2 x`, gold: `1`, want: true},
	{category: "expression", response: `\sec^2(y)`, gold: `\tan^2(y)+1`, want: true},
	{category: "expression", response: `2 \sin b \cos a`, gold: `\sin(a+b) - \sin(a-b)`, want: true},
	{category: "expression", response: `\cos\frac{\pi}{3}`, gold: `\frac12`, want: true},
	{category: "expression", response: `\arctan 1`, gold: `\frac{\pi}{4}`, want: true},
	{category: "expression", response: `\sin^{-1}(1)`, gold: `\frac{\pi}{2}`, want: true},
	{category: "expression", response: `|-3|`, gold: `3`, want: true},
	{category: "expression", response: `\lfloor 3.7 \rfloor`, gold: `3`, want: true},
	{category: "expression", response: `\lceil 3.2 \rceil`, gold: `3`, want: false},

	// Complex numbers.
	{category: "complex", response: `-2 + 7i`, gold: `7i - 2`, want: true},
	{category: "complex", response: `1-12i`, gold: `1 - 12i`, want: true},
	{category: "complex", response: `1+12i`, gold: `1 - 12i`, want: false},
	{category: "complex", response: `\frac{1+i}{1-i}`, gold: `i`, want: true},
	{category: "complex", response: `i^2`, gold: `-1`, want: true},

	// Expressions with variables.
	{category: "variables", response: `x^2+2x+1`, gold: `(x+1)^2`, want: true},
	{category: "variables", response: `x^2+2x-1`, gold: `(x+1)^2`, want: false},
	{category: "variables", response: `\frac{x}{7}+\frac{2}{7}`, gold: `\frac{x+2}{7}`, want: true},
	{category: "variables", response: `x+1`, gold: `x+2n+1`, want: false},
	{category: "variables", response: `2n(n+1)`, gold: `2n^2+2n`, want: true},
	{category: "variables", response: `\frac{n(n+1)}{2}`, gold: `\frac{n^2+n}{2}`, want: true},
	{category: "variables", response: `y+1`, gold: `x+1`, want: false},
	{category: "variables", response: `\frac{1}{3x^{2/3}}`, gold: `\frac{1}{3\sqrt[3]{x}^2}`, want: true},
	{category: "variables", response: `a b / 2`, gold: `\frac{ab}{2}`, want: true},
	{category: "variables", response: `2^{k-1}`, gold: `\frac{2^k}{2}`, want: true},
	{category: "variables", response: `\lceil n/2 \rceil + 1`, gold: `\lfloor (n+1)/2 \rfloor + 1`, want: true},
	{category: "variables", response: `\lfloor n/2 \rfloor`, gold: `\lceil n/2 \rceil`, want: false},
	{category: "variables", response: `\binom{2n}{n}`, gold: `\frac{(2n)!}{(n!)^2}`, want: true},
	{category: "variables", response: `e^{-t}\cos t`, gold: `\cos(t) e^{-t}`, want: true},
	{category: "variables", response: `x^3+3x-6`, gold: `x^3+3x-6`, want: true},

	// ±.
	{category: "pm", response: `1 \pm \sqrt{19}`, gold: `1 \pm \sqrt{19}`, want: true},
	{category: "pm", response: `1+\sqrt{19}, 1-\sqrt{19}`, gold: `1 \pm \sqrt{19}`, want: true},
	{category: "pm", response: `1+\sqrt{19}`, gold: `1 \pm \sqrt{19}`, want: false},
	{category: "pm", response: `\{-2021, 2021\}`, gold: `\pm 2021`, want: true},
	{category: "pm", response: `x = 3 \pm 2\sqrt{2}`, gold: `3 \pm 2 \sqrt{2}`, want: true},
	{category: "pm", response: `\{1\pm\sqrt{5},-2\}`, gold: `-2, 1+\sqrt5, 1-\sqrt5`, want: true},

	// Tuples (ordered).
	{category: "tuple", response: `(1, 2)`, gold: `(1,2)`, want: true},
	{category: "tuple", response: `(2, 1)`, gold: `(1,2)`, want: false},
	{category: "tuple", response: `\left( 3, \frac{\pi}{2} \right)`, gold: `(3, \frac{\pi}{2})`, want: true},
	{category: "tuple", response: `(1, 4.5)`, gold: `(1,\frac{9}{2})`, want: true},
	{category: "tuple", response: `(6,31,-1)`, gold: `(6,31,-1)`, want: true},
	{category: "tuple", response: `(6,31,1)`, gold: `(6,31,-1)`, want: false},
	{category: "tuple", response: `(1,2,3)`, gold: `(1,2)`, want: false},
	{category: "tuple", response: `(p,q) = (3,2)`, gold: `(3,2)`, want: true},
	{category: "tuple", response: `(3,2)`, gold: `(p,q)=(3,2)`, want: true},
	{category: "tuple", response: `(1,000, 2)`, gold: `(1000, 2)`, want: false},
	{category: "tuple", response: `(1,2),(3,4)`, gold: `(3,4),(1,2)`, want: true},
	{category: "tuple", response: `(1,2),(3,5)`, gold: `(3,4),(1,2)`, want: false},

	// Sets and lists (unordered).
	{category: "set", response: `\{1,2\}`, gold: `\{2,1\}`, want: true},
	{category: "set", response: `\{1,3\}`, gold: `\{2,1\}`, want: false},
	{category: "set", response: `\{1,2,3\}`, gold: `\{1,2\}`, want: false},
	{category: "set", response: `2, 1`, gold: `1, 2`, want: true},
	{category: "set", response: `-2,1`, gold: `1, -2`, want: true},
	{category: "set", response: `3, 5, 7`, gold: `3,5,7`, want: true},
	{category: "set", response: `3, 5`, gold: `3,5,7`, want: false},
	{category: "set", response: `\{1\}`, gold: `1`, want: true},
	{category: "set", response: `\emptyset`, gold: `\varnothing`, want: true},
	{category: "set", response: `\emptyset`, gold: `\{0\}`, want: false},
	{category: "set", response: `x=1 \text{ or } x=2`, gold: `1, 2`, want: true},
	{category: "set", response: `12 \text{ and } 13`, gold: `12, 13`, want: true},
	{category: "set", response: `32, 349`, gold: `32349`, want: false},

	// Intervals and unions (bracket kinds matter).
	{category: "interval", response: `(1,2]`, gold: `(1,2]`, want: true},
	{category: "interval", response: `[1,2]`, gold: `(1,2]`, want: false},
	{category: "interval", response: `(1,2)`, gold: `(1,2]`, want: false},
	{category: "interval", response: `\left(\frac{3}{5},\frac{8}{3}\right]`, gold: `(0.6, 2.6667]`, want: true},
	{category: "interval", response: `(-\infty, 0]`, gold: `(-\infty,0]`, want: true},
	{category: "interval", response: `(-\infty, 0)`, gold: `(-\infty,0]`, want: false},
	{category: "interval", response: `(5, \infty)`, gold: `(5,\infty)`, want: true},
	{category: "interval", response: `[2, +\infty)`, gold: `[2,\infty)`, want: true},
	{category: "interval", response: `x \in [-2,7]`, gold: `[-2,7]`, want: true},
	{category: "interval", response: `(-\infty, 2) \cup (3, \infty)`, gold: `(-\infty, 2) \cup (3, \infty)`, want: true},
	{category: "interval", response: `(3, \infty) \cup (-\infty, 2)`, gold: `(-\infty, 2) \cup (3, \infty)`, want: true},
	{category: "interval", response: `(-\infty, 2] \cup (3, \infty)`, gold: `(-\infty, 2) \cup (3, \infty)`, want: false},
	{category: "interval", response: `(0,9) \cup (9,36)`, gold: `(0,9)\cup(9,36)`, want: true},
	{category: "interval", response: `(-\infty, 0) \cup \{1\}`, gold: `(-\infty, 0) \cup\{1\}`, want: true},
	{category: "interval", response: `\mathbb{R}`, gold: `(-\infty, \infty)`, want: true},

	// Equations.
	{category: "equation", response: `y = 2x + 1`, gold: `2x + 1 = y`, want: true},
	{category: "equation", response: `y = 2x + 3`, gold: `y = 2x + 1`, want: false},
	{category: "equation", response: `2x + 1`, gold: `y = 2x + 1`, want: true},
	{category: "equation", response: `y=-\frac{1}{2}x+\frac{3}{4}`, gold: `2x+4y-3=0`, want: true},
	{category: "equation", response: `34x+45y-20z+100=0`, gold: `-34x-45y+20z-100=0`, want: true},
	{category: "equation", response: `5x - 7y + 11z + 4 = 0`, gold: `5x - 7y + 11z + 4 = 0`, want: true},
	{category: "equation", response: `5x - 7y + 11z - 4 = 0`, gold: `5x - 7y + 11z + 4 = 0`, want: false},
	{category: "equation", response: `x^2/16 + y^2/12 = 1/4`, gold: `x^2/4 + y^2/3 = 1`, want: true},
	{category: "equation", response: `1`, gold: `2x + z = 1`, want: false},
	{category: "equation", response: `x = 5+5+1 = 7 = 11`, gold: `x = 11`, want: true},
	{category: "equation", response: `k = 1/3 \approx 0.33`, gold: `\frac13`, want: true},
	{category: "equation", response: `f(x) = x + 1`, gold: `f(x)=1+x`, want: true},
	{category: "equation", response: `x + 1`, gold: `f(x)=x+1`, want: true},

	// Inequalities.
	{category: "inequality", response: `x \geq 5`, gold: `x >= 5`, want: true},
	{category: "inequality", response: `5 \leq x`, gold: `x \ge 5`, want: true},
	{category: "inequality", response: `x > 5`, gold: `x \ge 5`, want: false},
	{category: "inequality", response: `-x > -1`, gold: `x < 1`, want: true},
	{category: "inequality", response: `x > -1`, gold: `x < 1`, want: false},
	{category: "inequality", response: `-2 < x < 2`, gold: `x^2 < 4`, want: true},
	{category: "inequality", response: `[2, \infty)`, gold: `k \geqslant 2`, want: true},
	{category: "inequality", response: `(-793, 10)`, gold: `-793 < a < 10`, want: true},
	{category: "inequality", response: `z \in \left[-\frac{3}{2}, -1\right] \cup \left[1, \frac{3}{2}\right]`, gold: `1\leq|z|\leq \frac{3}{2}`, want: true},
	{category: "inequality", response: `z \in [-1, 1]`, gold: `1\leq|z|\leq \frac{3}{2}`, want: false},
	{category: "inequality", response: `y > 5`, gold: `x > 5`, want: false},

	// Matrices and vectors.
	{category: "matrix", response: `\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`, gold: `\begin{bmatrix}1&2\\3&4\end{bmatrix}`, want: true},
	{category: "matrix", response: `\begin{pmatrix} 1 & 2 \\ 3 & 5 \end{pmatrix}`, gold: `\begin{pmatrix}1&2\\3&4\end{pmatrix}`, want: false},
	{category: "matrix", response: `\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}`, gold: `\begin{pmatrix}1&2\\3&4\end{pmatrix}`, want: false},
	{category: "matrix", response: `\begin{pmatrix} -1/3 \\ 2/3 \\ 5/3 \end{pmatrix}`, gold: `\begin{pmatrix} -\frac13 \\ \frac23 \\ \frac53 \end{pmatrix}`, want: true},
	{category: "matrix", response: `\begin{pmatrix} 1/5 \\ -18/5 \end{pmatrix}`, gold: `\begin{pmatrix} 0.2 \\ -3.6 \end{pmatrix}`, want: true},
	{category: "matrix", response: `\left[\begin{array}{cc}1 & 2 \\3 & 4\end{array}\right]`, gold: `\begin{pmatrix}1&2\\3&4\end{pmatrix}`, want: true},
	{category: "matrix", response: `\begin{pmatrix}1&2\\3&4\end{pmatrix}+\begin{pmatrix}5&6\\7&8\end{pmatrix}`, gold: `\begin{pmatrix}6&8\\10&12\end{pmatrix}`, want: true},
	{category: "matrix", response: `\begin{pmatrix}1&1\\0&1\end{pmatrix}\begin{pmatrix}1&1\\0&1\end{pmatrix}`, gold: `\begin{pmatrix}1&2\\0&1\end{pmatrix}`, want: true},
	{category: "matrix", response: `\begin{pmatrix} 1 \\ 2 \\ 3 \end{pmatrix}`, gold: `\begin{pmatrix}1\\2\end{pmatrix}`, want: false},
	{category: "matrix", response: `(-7, 16, 5)`, gold: `\begin{pmatrix} -7 \\ 16 \\ 5 \end{pmatrix}`, want: true},

	// Text answers and multiple choice.
	{category: "text", response: `\text{Evelyn}`, gold: `\text{Evelyn}`, want: true},
	{category: "text", response: `Evelyn`, gold: `\text{Evelyn}`, want: true},
	{category: "text", response: `\text{Navin}`, gold: `\text{Evelyn}`, want: false},
	{category: "text", response: `\text{Even}`, gold: `\text{even}`, want: true},
	{category: "text", response: `odd`, gold: `\text{even}`, want: false},
	{category: "text", response: `\text{ellipse}`, gold: `\text{(ellipse)}`, want: true},
	{category: "text", response: `Yes`, gold: `yes`, want: true},
	{category: "text", response: `No`, gold: `yes`, want: false},
	{category: "choice", response: `\text{(C)}`, gold: `C`, want: true},
	{category: "choice", response: `(C)`, gold: `\text{(C)}`, want: true},
	{category: "choice", response: `C`, gold: `\text{(C)}`, want: true},
	{category: "choice", response: `\textbf{(C) } 12`, gold: `\text{(C)}`, want: true},
	{category: "choice", response: `(D)`, gold: `\text{(C)}`, want: false},
	{category: "choice", raw: true, response: `The answer is (B) because the others fail.`, gold: `B`, want: true},
	{category: "choice", raw: true, response: `The answer is (B) because the others fail.`, gold: `D`, want: false},

	// Base notation, ratios, infinity.
	{category: "misc", response: `204_5`, gold: `204_{5}`, want: true},
	{category: "misc", response: `54`, gold: `204_5`, want: false},
	{category: "misc", response: `7:32`, gold: `7:32`, want: true},
	{category: "misc", response: `\infty`, gold: `\infty`, want: true},
	{category: "misc", response: `+\infty`, gold: `\infty`, want: true},
	{category: "misc", response: `-\infty`, gold: `\infty`, want: false},
	{category: "misc", response: `12:00`, gold: `1:00`, want: false},

	// More cases across the categories.
	{category: "equation", response: `x = 2, y = 3`, gold: `(2,3)`, want: true},
	{category: "equation", response: `(2,3)`, gold: `x=2, y=3`, want: true},
	{category: "interval", response: `1 < x \le 3`, gold: `(1, 3]`, want: true},
	{category: "interval", response: `(-\infty, -1) \cup (1, \infty)`, gold: `|x| > 1`, want: true},
	{category: "equation", response: `2x + y = 0`, gold: `y = -2x`, want: true},
	{category: "number", response: `\frac{\sqrt{3}}{3}`, gold: `\frac{1}{\sqrt3}`, want: true},
	{category: "number", response: `3.14`, gold: `\pi`, want: false},
	{category: "percent", response: `50\%`, gold: `\frac{1}{2}`, want: true},
	{category: "percent", response: `0.5`, gold: `50\%`, want: true},
	{category: "degree", response: `30^\circ`, gold: `\frac{\pi}{6}`, want: true},
	{category: "choice", response: `\textbf{(A)}\ 5`, gold: `A`, want: true},
	{category: "choice", response: `E`, gold: `(E)`, want: true},
	{category: "expression", response: `2e`, gold: `2e`, want: true},
	{category: "text", response: `\text{no solution}`, gold: `\text{No solution}`, want: true},
	{category: "number", response: `1e3`, gold: `1000`, want: true},
	{category: "number", response: `1{,}000`, gold: `1000`, want: true},
	{category: "number", response: `1\,000`, gold: `1000`, want: true},
	{category: "normalize", response: "\u22125", gold: `-5`, want: true},
	{category: "number", response: `\sqrt{8}`, gold: `2\sqrt{2}`, want: true},
	{category: "variables", response: `\frac{x^2-1}{x-1}`, gold: `x+1`, want: true},
	{category: "expression", response: `\ln(e^2)`, gold: `2`, want: true},
	{category: "number", response: `8!`, gold: `40320`, want: true},
	{category: "number", response: `\dbinom{10}{3}`, gold: `120`, want: true},
	{category: "matrix", response: `(1,2,3)`, gold: `\begin{pmatrix}1\\2\\3\end{pmatrix}`, want: true},
	{category: "tuple", response: `\langle 1, 2 \rangle`, gold: `(1,2)`, want: true},
	{category: "tuple", response: `[1,2,3]`, gold: `(1,2,3)`, want: true},
	{category: "equation", response: `a=2, b=3`, gold: `b=3,a=2`, want: true},
	{category: "equation", response: `a=3, b=2`, gold: `b=3,a=2`, want: false},
	{category: "extract", raw: true, response: `#### 12`, gold: `12`, want: true},
	{category: "extract", raw: true, response: `The answer is 1,000.`, gold: `1000`, want: true},
	{category: "extract", raw: true, response: `So $x = 3$. **Final Answer** \boxed{3}`, gold: `3`, want: true},
	{category: "expression", response: `\frac{9}{4}\pi`, gold: `\frac94\pi`, want: true},
	{category: "variables", response: `\frac{1}{2}x^2`, gold: `x^2/2`, want: true},
	{category: "variables", response: `x^2/2`, gold: `\frac{x^{2}}{2}`, want: true},
	{category: "normalize", response: `\$ 1.50`, gold: `1.5`, want: true},
	{category: "normalize", response: `1.50 \text{ dollars}`, gold: `\$1.50`, want: true},
	{category: "text", response: `3\text{ hours and }20\text{ minutes}`, gold: `3\text{ hours and }20\text{ minutes}`, want: true},
	{category: "interval", response: `(0,1)`, gold: `(0,1)`, want: true},
	{category: "interval", response: `0 < x < 1`, gold: `(0,1)`, want: true},
	{category: "interval", response: `(1, 0)`, gold: `(0,1)`, want: false},
	{category: "set", response: `\{1, 2, 3\}`, gold: `\{3, 2, 1\}`, want: true},
	{category: "interval", response: `[0, 1]`, gold: `[0,1)`, want: false},
	{category: "interval", response: `x \geq 2`, gold: `[2, \infty)`, want: true},
	{category: "expression", response: `-\frac{\pi}{6}`, gold: `-\frac{\pi}{6}`, want: true},
	{category: "expression", response: `\frac{-\pi}{6}`, gold: `-\frac{\pi}{6}`, want: true},
	{category: "expression", response: `\frac{\pi}{6}`, gold: `-\frac{\pi}{6}`, want: false},
	{category: "equation", response: `y^2 = 4x`, gold: `y^2 = 4x`, want: true},
	{category: "equation", response: `4x = y^2`, gold: `y^2 = 4x`, want: true},
	{category: "equation", response: `y^2 = -4x`, gold: `y^2 = 4x`, want: false},
	{category: "number", response: `2`, gold: `2.0`, want: true},
	{category: "number", response: `2.00`, gold: `2`, want: true},
	{category: "number", response: `0.1`, gold: `\frac{1}{10}`, want: true},
	{category: "number", response: `0.10`, gold: `0.1`, want: true},
	{category: "number", response: `\frac{1}{6}`, gold: `0.1667`, want: true},
	{category: "number", response: `0.167`, gold: `\frac{1}{6}`, want: false},
	{category: "choice", response: `\text{A}`, gold: `A`, want: true},
	{category: "choice", response: `\mathrm{(B)}`, gold: `B`, want: true},
	{category: "choice", response: `(B)`, gold: `(C)`, want: false},
	{category: "choice", response: `B`, gold: `C`, want: false},
	{category: "pm", response: `\pm 3`, gold: `3, -3`, want: true},
	{category: "pm", response: `\pm 3`, gold: `3`, want: false},
	{category: "pm", response: `3`, gold: `\pm 3`, want: false},
	{category: "pm", response: `x = \pm 3`, gold: `\pm 3`, want: true},
	{category: "pm", response: `-3, 3`, gold: `\pm 3`, want: true},
	{category: "number", response: `5 \sqrt{2}`, gold: `\sqrt{50}`, want: true},
	{category: "number", response: `\sqrt{50}`, gold: `5\sqrt2`, want: true},
	{category: "number", response: `\frac{5\sqrt{2}}{2}`, gold: `\frac{5}{\sqrt{2}}`, want: true},
	{category: "number", response: `10^{-3}`, gold: `0.001`, want: true},
	{category: "number", response: `1.0 \times 10^{-3}`, gold: `0.001`, want: true},
	{category: "number", response: `\frac{3}{2}`, gold: `1\frac{1}{2}`, want: true},
	{category: "percent", response: `\frac{1}{4}`, gold: `25\%`, want: true},
	{category: "variables", response: `a^2 + b^2`, gold: `b^2 + a^2`, want: true},
	{category: "variables", response: `a^2 - b^2`, gold: `b^2 - a^2`, want: false},
	{category: "variables", response: `\frac{1}{x}`, gold: `x^{-1}`, want: true},
	{category: "expression", response: `e^{i\pi}`, gold: `-1`, want: true},
	{category: "normalize", response: `100`, gold: `100\text{ cm}`, want: true},
	{category: "normalize", response: `1\text{ m}`, gold: `100\text{ cm}`, want: false},
	{category: "choice", response: `\text{(A) } 5`, gold: `\text{(A)}`, want: true},
	{category: "extract", raw: true, response: `The answer is $\frac{1}{2}$ cm.`, gold: `1/2`, want: true},
	{category: "equation", response: `x^{2}+2x+1=0`, gold: `(x+1)^2=0`, want: true},
	{category: "equation", response: `x=-1`, gold: `(x+1)^2=0`, want: false},
	{category: "set", response: `\{-1\}`, gold: `-1`, want: true},
	{category: "text", response: `\text{all real numbers}`, gold: `\mathbb{R}`, want: false},
	{category: "set", response: `2,3`, gold: `\{2,3\}`, want: true},
	{category: "set", response: `(2,3)`, gold: `\{2,3\}`, want: true},
	{category: "set", response: `(3,2)`, gold: `\{2,3\}`, want: false},
	{category: "number", response: `\frac{12}{5}`, gold: `2.4`, want: true},
	{category: "number", response: `2.4`, gold: `\frac{12}{5}`, want: true},
	{category: "number", response: `2.5`, gold: `\frac{12}{5}`, want: false},
	{category: "number", response: `\frac{1}{3}`, gold: `0.\overline{3}`, want: true},
	{category: "number", response: `11\sqrt2`, gold: `11\sqrt{2}`, want: true},
	{category: "number", response: `\frac{3\sqrt{3}}{4}`, gold: `\frac{3}{4}\sqrt3`, want: true},
	{category: "text", response: `\text{Evelyn}`, gold: `Evelyn`, want: true},
	{category: "variables", response: `x^5 - x^4 + x^3 - x^2 + x - 1`, gold: `x^5-x^4+x^3-x^2+x-1`, want: true},
	{category: "variables", response: `6r^2-4r-24`, gold: `6r^2 - 4r - 24`, want: true},
	{category: "variables", response: `p - q`, gold: `p-q`, want: true},
	{category: "variables", response: `q - p`, gold: `p-q`, want: false},
	{category: "expression", response: `\cot x`, gold: `\cot x`, want: true},
	{category: "expression", response: `\frac{\cos x}{\sin x}`, gold: `\cot x`, want: true},
	{category: "expression", response: `\tan x`, gold: `\cot x`, want: false},
	{category: "variables", response: `2k+2`, gold: `2k+2`, want: true},
	{category: "variables", response: `2(k+1)`, gold: `2k+2`, want: true},
	{category: "variables", response: `3R^2`, gold: `3R^2`, want: true},
	{category: "variables", response: `3r^2`, gold: `3R^2`, want: false},
	{category: "expression", response: `\frac{20000}{\pi}`, gold: `\frac{20000}{\pi}`, want: true},
	{category: "number", response: `6366.2`, gold: `\frac{20000}{\pi}`, want: true},
	{category: "misc", response: `4210_{5}`, gold: `4210_5`, want: true},
	{category: "complex", response: `1+274i`, gold: `1+274i`, want: true},
	{category: "normalize", response: `\$36`, gold: `\$36`, want: true},
	{category: "normalize", response: `36`, gold: `\$36`, want: true},
	{category: "text", response: `\text{east}`, gold: `\text{east}`, want: true},
	{category: "text", response: `\text{west}`, gold: `\text{east}`, want: false},
	{category: "interval", response: `(-\infty,-5)`, gold: `(-\infty,-5)`, want: true},
	{category: "interval", response: `x<-5`, gold: `(-\infty,-5)`, want: true},
	{category: "interval", response: `x \le -5`, gold: `(-\infty,-5)`, want: false},

	// Pathological inputs: never a crash, never a false positive.
	{category: "pathological", response: strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000), gold: "1", want: false},
	{category: "pathological", response: strings.Repeat(`\frac{1}{`, 300) + "2" + strings.Repeat("}", 300), gold: "2", want: false},
	{category: "pathological", response: `10^{10^{10}}`, gold: `10^{10^{10}}+1`, want: false},
	{category: "pathological", response: `2^{2^{2^{2^{2^{2}}}}}`, gold: `3`, want: false},
	{category: "pathological", response: `9999999999!`, gold: `1`, want: false},
	{category: "pathological", response: `1e999999`, gold: `1`, want: false},
	{category: "pathological", response: `\frac{1}{0}`, gold: `\frac{2}{0}`, want: false},
	{category: "pathological", response: `\sqrt{-1}`, gold: `i`, want: true},
	{category: "pathological", response: strings.Repeat("1+", 3000) + "1", gold: "3001", want: false},
	{category: "pathological", response: strings.Repeat("x", 100000), gold: "x", want: false},
	{category: "pathological", raw: true, response: strings.Repeat(`\boxed{`, 20000), gold: "1", want: false},
	{category: "pathological", raw: true, response: strings.Repeat(`a $b$ `, 20000) + `\boxed{5}`, gold: "5", want: true},
	{category: "pathological", response: `}{)(][`, gold: `1`, want: false},
	{category: "pathological", response: "\x00\xff\xfe", gold: `1`, want: false},
	{category: "pathological", response: `5`, gold: ``, want: false},
	{category: "pathological", response: `\begin{pmatrix}1&2\\3\end{pmatrix}`, gold: `1`, want: false},
	{category: "pathological", response: `x^{x^{x^{x}}}`, gold: `x^{x^{x^{x}}}`, want: true},
}

func TestVerifyTable(t *testing.T) {
	perCategory := map[string][2]int{}
	for i, c := range verifyCases {
		response := c.response
		if !c.raw {
			response = `The final answer is $\boxed{` + c.response + `}$.`
		}
		v := Verify(response, c.gold)
		if v.Correct != c.want {
			t.Errorf("case %d (%s): Verify(%.80q, %.80q) = %+v, want correct=%v", i, c.category, response, c.gold, v, c.want)
		}
		n := perCategory[c.category]
		if c.want {
			n[0]++
		} else {
			n[1]++
		}
		perCategory[c.category] = n
	}
	if len(verifyCases) < 200 {
		t.Errorf("table has %d cases, want at least 200", len(verifyCases))
	}
	for cat, n := range perCategory {
		if n[0] == 0 || n[1] == 0 {
			t.Errorf("category %s has %d true and %d false cases; want both", cat, n[0], n[1])
		}
	}
}

func TestVerdictFields(t *testing.T) {
	cases := []struct {
		response, gold string
		want           Verdict
	}{
		{`So $\boxed{\dfrac{1}{2}}$.`, "$0.5$", Verdict{Correct: true, Pred: `\frac{1}{2}`, Gold: "0.5", Reason: ReasonEquivalent}},
		{`\boxed{28\%}`, `28 percent`, Verdict{Correct: true, Pred: `28\%`, Gold: `28\%`, Reason: ReasonIdentical}},
		{`I give up.`, "7", Verdict{Gold: "7", Reason: ReasonNoAnswer}},
		{`\boxed{7}`, "  $ $ ", Verdict{Reason: ReasonNoGold}},
		{`\boxed{8}`, `\boxed{7}`, Verdict{Pred: "8", Gold: "7", Reason: ReasonDifferent}},
	}
	for i, c := range cases {
		if got := Verify(c.response, c.gold); got != c.want {
			t.Errorf("case %d: Verify(%q, %q) = %+v, want %+v", i, c.response, c.gold, got, c.want)
		}
	}
}

func TestEquivalent(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"x=5", "5", true},
		{"5", "x = 5", true},
		{`\frac{1}{2}`, "0.5", true},
		{"2, 3", `\{3, 2\}`, true},
		{"(2, 3)", "(3, 2)", false},
		{"2x+y=1", "1", false},
		{`\text{Yes}`, "yes", true},
		{"", "", false},
		{"1", "", false},
	}
	for i, c := range cases {
		if got := Equivalent(c.a, c.b); got != c.want {
			t.Errorf("case %d: Equivalent(%q, %q) = %v, want %v", i, c.a, c.b, got, c.want)
		}
	}
}

// Verify must give the same verdicts from many goroutines at once as sequentially (run the
// tests with -race to check for shared state).
func TestVerifyConcurrentDeterministic(t *testing.T) {
	want := make([]Verdict, len(verifyCases))
	responses := make([]string, len(verifyCases))
	for i, c := range verifyCases {
		responses[i] = c.response
		if !c.raw {
			responses[i] = `\boxed{` + c.response + `}`
		}
		want[i] = Verify(responses[i], c.gold)
	}
	errs := make(chan string, 8*len(verifyCases))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range verifyCases {
				i := (k + w*37) % len(verifyCases)
				if got := Verify(responses[i], verifyCases[i].gold); got != want[i] {
					errs <- fmt.Sprintf("case %d: concurrent %+v, sequential %+v", i, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// randomPieces are the building blocks of random answers for the robustness test.
var randomPieces = []string{
	`\frac`, `{`, `}`, `(`, `)`, `[`, `]`, `\{`, `\}`, `1`, `23`, `0.5`, `x`, `y`, `e`, `i`, `\pi`,
	`\sqrt`, `^`, `_`, `+`, `-`, `*`, `/`, `=`, `<`, `\le`, `,`, `;`, `|`, `!`, `\infty`, `\cup`,
	`\pm`, `\begin{pmatrix}`, `\end{pmatrix}`, `&`, `\\`, `\text{`, ` cm`, `\%`, `^\circ`, `\sin`,
	`\log_`, `\binom`, `\left(`, `\right)`, ` and `, `$`, `\boxed{`, `\lfloor`, `\rfloor`, `'`,
	`:`, `.`, `1e5`, `\,`, `\!`, `\mathbb{R}`, `\approx`, `\in`, ` `, `9999`, `\sqrt[3]`,
	`\overline{3}`, `\operatorname{`, `\max`, `\choose`, `\begin{array}{cc}`, `\end{array}`,
	`\mp`, `\emptyset`, `\vec{`, "</think>", "answer:", "####", `\fbox`, `0`, `-1`, `\cdot`,
}

// Random token soups must never reach the panic guard: every stage handles malformed input.
func TestRandomInputsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	soup := func() string {
		var b strings.Builder
		for k := rng.IntN(16); k >= 0; k-- {
			b.WriteString(randomPieces[rng.IntN(len(randomPieces))])
		}
		return b.String()
	}
	for n := 0; n < 20000; n++ {
		a, b := soup(), soup()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic %v on %q against %q", r, a, b)
				}
			}()
			raw, _ := Extract(a)
			g, p := newAnswer(goldAnswer(b)), newAnswer(raw)
			if g.key != "" && p.key != "" {
				compareAnswers(g, p)
			}
			if q := newAnswer(a); q.key != "" && g.key != "" {
				compareAnswers(q, g)
			}
		}()
	}
}

func FuzzVerify(f *testing.F) {
	for _, c := range verifyCases[:60] {
		f.Add(c.response, c.gold)
	}
	f.Fuzz(func(t *testing.T, response, gold string) {
		v := Verify(response, gold)
		if strings.HasPrefix(v.Reason, "internal error") {
			t.Fatalf("Verify(%q, %q): %s", response, gold, v.Reason)
		}
		if v.Correct != Verify(response, gold).Correct {
			t.Fatalf("Verify(%q, %q) is not deterministic", response, gold)
		}
	})
}
