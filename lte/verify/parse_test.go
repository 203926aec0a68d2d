package verify

import (
	"math"
	"math/big"
	"math/cmplx"
	"strings"
	"testing"
)

func TestParseStructure(t *testing.T) {
	cases := []struct{ in, want string }{
		{`1+2x`, "add(1,mul(2,x))"},
		{`-x^2`, "mul(-1,pow(x,2))"},
		{`\frac12`, "mul(1,pow(2,-1))"},
		{`\frac{a}{b}c`, "mul(a,pow(b,-1),c)"},
		{`137 \frac{1}{2}`, "add(137,mul(1,pow(2,-1)))"},
		{`2\frac{x}{3}`, "mul(2,x,pow(3,-1))"},
		{`\sqrt[3]{x}`, "fnroot(x,3)"},
		{`\sin^2 x`, "pow(fnsin(x),2)"},
		{`\sin^{-1}(x)`, "fnasin(x)"},
		{`\sin 2x \cos y`, "mul(fnsin(mul(2,x)),fncos(y))"},
		{`\log_2 8`, "fnlogb(8,2)"},
		{`n!`, "fnfact(n)"},
		{`{n \choose 2}`, "fnbinom(n,2)"},
		{`|x-1|`, "fnabs(add(x,-1))"},
		{`x_{12}+y'`, "add(x_12,y')"},
		{`204_5`, "204_5"},
		{`(1,2]`, "interval(1,2)"},
		{`(1,2)`, "tuple(1,2)"},
		{`(1,\infty)`, "interval(1,inf)"},
		{`\{1,2\}`, "set(1,2)"},
		{`1,2;3`, "list(1,2,3)"},
		{`[0,1)\cup\{2\}`, "union(interval(0,1),set(2))"},
		{`x \in [0,1]`, "interval(0,1)"},
		{`a < b \le c`, "rel(a,<b,<=c)"},
		{`x \approx 3`, "rel(x,=3)"},
		{`\frac13 \approx 0.33`, "mul(1,pow(3,-1))"},
		{`1 \pm 2`, "pmpm(1,2)"},
		{`\begin{pmatrix}1&2\\3&4\end{pmatrix}`, "matrix(1,2,3,4)"},
		{`4.5e3`, "4500"},
		{`\mathbb{R}`, "interval(mul(-1,inf),inf)"},
	}
	for i, c := range cases {
		n, err := parse(c.in)
		if err != nil {
			t.Errorf("case %d: parse(%q): %v", i, c.in, err)
			continue
		}
		if got := n.key(); got != c.want {
			t.Errorf("case %d: parse(%q) = %s, want %s", i, c.in, got, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for i, in := range []string{
		``, `(1`, `1)`, `(1]`, `\frac{1}`, `\sum_{k=1}^n k`, `\begin{align}x\end{align}`,
		`\begin{pmatrix}1&2\\3\end{pmatrix}`, `x_`, `1e2000`, `\{1, 2`, `#`,
		strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500),
		strings.Repeat("1+", maxTokens),
	} {
		if n, err := parse(in); err == nil {
			t.Errorf("case %d: parse(%.40q) = %s, want an error", i, in, n.key())
		}
	}
}

func TestExactEvaluation(t *testing.T) {
	fact := new(big.Int).MulRange(1, 100)
	cases := []struct {
		in   string
		want *big.Rat
	}{
		{`\frac{2}{4}+\frac{1}{3}`, big.NewRat(5, 6)},
		{`2^{-3}`, big.NewRat(1, 8)},
		{`(-8)^{1/3}`, big.NewRat(-2, 1)},
		{`\sqrt{\frac{9}{16}}`, big.NewRat(3, 4)},
		{`\sqrt[4]{81}`, big.NewRat(3, 1)},
		{`100!`, new(big.Rat).SetInt(fact)},
		{`\binom{10}{3}`, big.NewRat(120, 1)},
		{`\lfloor -2.5 \rfloor + \lceil 2.1 \rceil`, big.NewRat(0, 1)},
		{`\gcd(12, 18) \cdot \operatorname{lcm}(4, 6)`, big.NewRat(72, 1)},
		{`1.5e-3`, big.NewRat(3, 2000)},
		{`|{-7}|`, big.NewRat(7, 1)},
	}
	for i, c := range cases {
		n, err := parse(c.in)
		if err != nil {
			t.Errorf("case %d: parse(%q): %v", i, c.in, err)
			continue
		}
		got, ok := exact(n)
		if !ok || got.Cmp(c.want) != 0 {
			t.Errorf("case %d: exact(%q) = %v, %v; want %v", i, c.in, got, ok, c.want)
		}
	}
	// Irrational, undefined or oversized values are not exact.
	for i, in := range []string{`\sqrt{2}`, `\pi`, `\frac{1}{0}`, `2^{100000}`, `5000!`, `(-4)^{1/2}`, `x`} {
		n, err := parse(in)
		if err != nil {
			t.Fatalf("parse(%q): %v", in, err)
		}
		if v, ok := exact(n); ok {
			t.Errorf("case %d: exact(%q) = %v, want not exact", i, in, v)
		}
	}
}

// Numeric evaluation against the math library.
func TestNumericEvaluation(t *testing.T) {
	x := 1.3
	pt := &point{names: []string{"x"}, vals: []complex128{complex(x, 0)}}
	cases := []struct {
		in   string
		want complex128
	}{
		{`\sin x + \cos^2 x`, complex(math.Sin(x)+math.Cos(x)*math.Cos(x), 0)},
		{`\tan(2x) \sec x`, complex(math.Tan(2*x)/math.Cos(x), 0)},
		{`\ln x + \log_{10} x + \log_2 8`, complex(math.Log(x)+math.Log10(x)+3, 0)},
		{`e^{x} \sqrt{x}`, complex(math.Exp(x)*math.Sqrt(x), 0)},
		{`\sqrt[3]{-x}`, complex(-math.Cbrt(x), 0)},
		{`x^{2/3}`, complex(math.Pow(x, 2.0/3), 0)},
		{`\arctan x + \arcsin(x/2)`, complex(math.Atan(x)+math.Asin(x/2), 0)},
		{`\sqrt{-4}`, 2i},
		{`(1+i)^2`, 2i},
		{`e^{i\pi}`, -1},
		{`x!`, complex(math.Gamma(x+1), 0)},
		{`\binom{5}{2}`, 10},
	}
	for i, c := range cases {
		n, err := parse(c.in)
		if err != nil {
			t.Errorf("case %d: parse(%q): %v", i, c.in, err)
			continue
		}
		if got := evalNum(n, pt); cmplx.Abs(got-c.want) > 1e-12*math.Max(1, cmplx.Abs(c.want)) {
			t.Errorf("case %d: evalNum(%q) = %v, want %v", i, c.in, got, c.want)
		}
	}
	n, _ := parse(`\frac{1}{x-x}`)
	if v := evalNum(n, pt); isFinite(v) {
		t.Errorf("1/(x-x) = %v, want undefined", v)
	}
}
