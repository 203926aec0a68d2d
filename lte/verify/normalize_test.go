package verify

import "testing"

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{`$\frac{1}{2}$`, `\frac{1}{2}`},
		{`\( x \)`, `x`},
		{`$$\dfrac{3}{4}$$`, `\frac{3}{4}`},
		{`\left( 3, \tfrac{\pi}{2} \right)`, `( 3, \frac{\pi}{2} )`},
		{`\displaystyle\cfrac12`, `\frac12`},
		{`\left.x\right|`, `x|`},
		{`a\!b\,c\;d\quad e`, `ab c d e`},
		{`\text{Evelyn}`, `Evelyn`},
		{`\textbf{(C)}`, `(C)`},
		{`\mathrm{e}^{2}`, `e ^{2}`},
		{`\boxed{\boxed{7}}`, `7`},
		{`5.4 \text{ cents}`, `5.4`},
		{`15\mbox{ cm}^2`, `15`},
		{`1.6 \mathrm{~cm}`, `1.6`},
		{`125 miles`, `125`},
		{`9.8 m/s^2`, `9.8`},
		{`3 \text{ hours and } 20 \text{ minutes}`, `3, 20`},
		{`12\text{ and }13`, `12, 13`},
		{`19, 46, and 82`, `19, 46, 82`},
		{`x=1 \text{ or } x=2`, `x=1, x=2`},
		{`90^\circ`, `90^\circ`},
		{`90^{\circ}`, `90^\circ`},
		{`270 \text{ degrees}`, `270^\circ`},
		{`28\%`, `28\%`},
		{`28 percent`, `28\%`},
		{`\$18.90`, `18.90`},
		{`10,\!080`, `10080`},
		{`11,\! 111,\! 111,\! 100`, `11111111100`},
		{`14{,}916`, `14916`},
		{`1 000 000`, `1000000`},
		{`1,000.5`, `1000.5`},
		{`(1,000)`, `(1,000)`},
		{`1,2`, `1,2`},
		{`32, 349`, `32, 349`},
		{`5.`, `5`},
		{`= 5;`, `5`},
		{`0.\overline{3}`, `(1/3)`},
		{`1.2\overline{34}`, `(611/495)`},
		{"\u22125 \u00d7 \u03c0", `-5 \times \pi`},
		{`\\frac{1}{2}`, `\frac{1}{2}`},
		{`\begin{pmatrix} 1 \\ 2 \end{pmatrix}`, `\begin{pmatrix} 1 \\ 2 \end{pmatrix}`},
		{`x_{1}=10,\quadx_{2}=3`, `x_{1}=10, x_{2}=3`},
		{`\text{The midpoints form a regular hexagon}`, `The midpoints form a regular hexagon`},
	}
	for i, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("case %d: Normalize(%q) = %q, want %q", i, c.in, got, c.want)
		}
	}
}

// Normalising a normalised answer changes nothing, for every answer of the verdict table.
func TestNormalizeIsIdempotent(t *testing.T) {
	for i, c := range verifyCases {
		for _, s := range []string{c.response, c.gold} {
			if len(s) > maxAnswerBytes {
				continue
			}
			once := Normalize(s)
			if twice := Normalize(once); twice != once {
				t.Errorf("case %d: Normalize(%q) = %q, but Normalize of that = %q", i, s, once, twice)
			}
		}
	}
}
