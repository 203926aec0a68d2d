package verify

import (
	"math/big"
	"regexp"
	"strings"
)

// normal is a normalised answer: canonical text plus the marks removed from its end.
type normal struct {
	text    string
	percent bool // a trailing percent sign (or word) was removed
	degree  bool // a degree sign was removed
}

// display renders the normalised answer with its marks, as Verify reports it.
func (n normal) display() string {
	s := n.text
	if n.degree {
		s += `^\circ`
	}
	if n.percent {
		s += `\%`
	}
	return s
}

// Normalize returns the canonical text of an answer, the form compared and reported by
// Verify. It removes $ and \( \) delimiters, \left/\right, \displaystyle, spacing commands
// (\! \, \; \quad), \text{}/\mathrm{}/\textbf{}/\boxed{} wrappers (keeping their content),
// units after a quantity (\text{ cm}^2, "miles", "km/h"), currency signs, thousands
// separators (1,000 and 10,\!080 but not (1,000)), trailing punctuation; it turns
// \dfrac/\tfrac into \frac, "and"/"or" between items into commas, and writes a removed
// percent sign as a final \% and degree signs as a final ^\circ.
func Normalize(s string) string { return normalize(s).display() }

var unicodeReplacer = strings.NewReplacer(
	"\u2212", "-", "\u2013", "-", "\u00d7", `\times `, "\u00b7", `\cdot `, "\u22c5", `\cdot `,
	"\u00f7", `\div `, "\u03c0", `\pi `, "\u221e", `\infty `, "\u2264", `\le `, "\u2265", `\ge `,
	"\u2260", `\ne `, "\u221a", `\sqrt`, "\u222a", `\cup `, "\u2208", `\in `, "\u00b2", "^2",
	"\u00b3", "^3", "\u00b1", `\pm `, "\u2213", `\mp `, "\u00a0", " ", "\u2205", `\emptyset `,
	"\u20ac", "", "\u00a3", "", "\u00a5", "", "\u2009", " ", "\u202f", " ", "\u2032", "'",
	"\u2248", `\approx `,
)

func normalize(s string) normal {
	var n normal
	s = unicodeReplacer.Replace(s)
	s = stripDelimiters(strings.TrimSpace(s))
	s = repeatingDecimals(s)
	s = rewriteCommands(s, !strings.Contains(s, `\begin`))
	s = strings.ReplaceAll(s, "$", "")
	s = replaceCommaGroups(s)
	s = andOrToComma(s)
	s = strings.Join(strings.Fields(s), " ")
	s = trimPunctuation(stripUnits(s))
	for {
		t := s
		switch {
		case strings.HasSuffix(s, "%"):
			s, n.percent = s[:len(s)-1], true
		default:
			for _, w := range []string{"percentage", "percent", "pct", "degrees", "degree"} {
				if strings.HasSuffix(s, w) && len(s) > len(w) && !isLetter(s[len(s)-len(w)-1]) {
					s = s[:len(s)-len(w)]
					if w[0] == 'd' {
						s += "°"
					} else {
						n.percent = true
					}
					break
				}
			}
		}
		s = strings.TrimSpace(s)
		if s == t {
			break
		}
	}
	if strings.Contains(s, "°") {
		s, n.degree = strings.ReplaceAll(s, "°", ""), true
	}
	s = mergeThousands(s)
	s = strings.Join(strings.Fields(s), " ")
	n.text = trimPunctuation(s)
	return n
}

var repeatingPattern = regexp.MustCompile(`(\d{0,30})\.(\d{0,30})\\overline\s*\{(\d{1,30})\}`)

// repeatingDecimals rewrites 0.1\overline{6} as the exact fraction (1/6).
func repeatingDecimals(s string) string {
	if !strings.Contains(s, `\overline`) {
		return s
	}
	return repeatingPattern.ReplaceAllStringFunc(s, func(m string) string {
		g := repeatingPattern.FindStringSubmatch(m)
		v, _ := new(big.Rat).SetString("0" + g[1] + "." + g[2] + "0")
		pow := func(k int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil) }
		rep, _ := new(big.Int).SetString(g[3], 10)
		den := new(big.Int).Sub(pow(len(g[3])), big.NewInt(1))
		den.Mul(den, pow(len(g[2])))
		v.Add(v, new(big.Rat).SetFrac(rep, den))
		return "(" + v.String() + ")"
	})
}

// stripDelimiters removes math delimiters that wrap the whole answer.
func stripDelimiters(s string) string {
	for {
		t := s
		for _, d := range [][2]string{{"$$", "$$"}, {"$", "$"}, {`\[`, `\]`}, {`\(`, `\)`}} {
			if len(s) >= len(d[0])+len(d[1]) && strings.HasPrefix(s, d[0]) && strings.HasSuffix(s, d[1]) {
				s = strings.TrimSpace(s[len(d[0]) : len(s)-len(d[1])])
			}
		}
		if s == t {
			return s
		}
	}
}

// trimPunctuation removes sentence punctuation and stray separators at both ends.
func trimPunctuation(s string) string {
	for {
		t := strings.TrimSpace(s)
		t = strings.TrimRight(t, ".,;:")
		t = strings.TrimLeft(t, ":=,;")
		t = strings.TrimSuffix(t, `\\`)
		if t == s {
			return s
		}
		s = t
	}
}

// Command classes of rewriteCommands.
var (
	droppedCommands = map[string]bool{
		"displaystyle": true, "textstyle": true, "scriptstyle": true, "limits": true, "nolimits": true,
		"left": true, "right": true, "bigl": true, "bigr": true, "Bigl": true, "Bigr": true,
		"big": true, "Big": true, "bigg": true, "Bigg": true, "biggl": true, "biggr": true,
		"Biggl": true, "Biggr": true, "middle": true, "mathstrut": true, "strut": true,
		"nonumber": true, "notag": true, "mleft": true, "mright": true,
	}
	spaceCommands = map[string]bool{
		"quad": true, "qquad": true, "enspace": true, "thinspace": true, "medspace": true,
		"thickspace": true, "negthinspace": true, "hfill": true,
	}
	argDroppedCommands = map[string]bool{"hspace": true, "vspace": true, "kern": true, "phantom": true, "label": true, "tag": true}
	renamedCommands    = map[string]string{"dfrac": "frac", "tfrac": "frac", "cfrac": "frac", "dbinom": "binom", "tbinom": "binom"}
	textCommands       = map[string]bool{
		"text": true, "textbf": true, "textit": true, "textrm": true, "textsf": true, "texttt": true,
		"textnormal": true, "textup": true, "mbox": true, "hbox": true, "mathrm": true, "mathit": true,
		"mathsf": true, "mathtt": true, "mathnormal": true, "emph": true, "operatorname": true,
		"mathbf": true, "boldsymbol": true, "bm": true,
	}
	boxCommandNames = map[string]bool{"boxed": true, "fbox": true, "framebox": true}
)

// rewriter normalises the backslash commands of one string. closing[i] is the index of the
// brace closing an opening brace at i (-1 if unclosed), computed once so that nested
// groups cost linear time.
type rewriter struct {
	s          string
	closing    []int
	fixSlashes bool
}

// rewriteCommands normalises the backslash commands of s in one pass. fixSlashes turns a
// doubled backslash before a letter (from over-escaped strings) into one; it is off inside
// matrices, where \\ separates rows.
func rewriteCommands(s string, fixSlashes bool) string {
	rw := &rewriter{s: s, closing: braceTable(s), fixSlashes: fixSlashes}
	return rw.run(0, len(s), 0)
}

// braceTable matches braces (escaped ones excluded) in linear time.
func braceTable(s string) []int {
	closing := make([]int, len(s))
	var stack []int
	for i := 0; i < len(s); i++ {
		closing[i] = -1
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				closing[i] = -1
			}
		case '{':
			stack = append(stack, i)
		case '}':
			if n := len(stack); n > 0 {
				closing[stack[n-1]] = i
				stack = stack[:n-1]
			}
		}
	}
	return closing
}

func (rw *rewriter) run(lo, hi, depth int) string {
	s := rw.s
	if depth > maxDepth {
		return s[lo:hi]
	}
	var b strings.Builder
	b.Grow(hi - lo)
	for i := lo; i < hi; {
		c := s[i]
		if c == '^' {
			if j, ok := degreeMark(s[:hi], i+1); ok {
				b.WriteString("°")
				i = j
				continue
			}
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= hi {
			i++
			continue
		}
		d := s[i+1]
		if !isLetter(d) {
			switch d {
			case ',', ';', ':', '>', ' ', '\t', '\n':
				b.WriteByte(' ')
				i += 2
			case '!':
				i += 2
				if strings.HasSuffix(b.String(), ",") {
					for i < hi && s[i] == ' ' {
						i++
					}
				}
			case '%':
				b.WriteByte('%')
				i += 2
			case '$':
				i += 2
			case '\\':
				if rw.fixSlashes && i+2 < hi && isLetter(s[i+2]) {
					i++
					continue
				}
				b.WriteString(`\\`)
				i += 2
			default:
				b.WriteByte('\\')
				b.WriteByte(d)
				i += 2
			}
			continue
		}
		j := i + 1
		for j < hi && isLetter(s[j]) {
			j++
		}
		name := s[i+1 : j]
		switch {
		case droppedCommands[name]:
			i = j
			if (name == "left" || name == "right") && i < hi && s[i] == '.' {
				i++
			}
		case spaceCommands[name]:
			b.WriteByte(' ')
			i = j
		case strings.HasPrefix(name, "quad") || strings.HasPrefix(name, "qquad"):
			// "\quadx" is a space run into a letter.
			b.WriteByte(' ')
			i += len(`\quad`)
			if strings.HasPrefix(name, "qquad") {
				i++
			}
		case renamedCommands[name] != "":
			b.WriteString(`\` + renamedCommands[name])
			i = j
		case name == "circ" || name == "degree":
			b.WriteString("°")
			i = j
		case argDroppedCommands[name]:
			i = rw.skipGroup(j, hi)
		case textCommands[name] || boxCommandNames[name]:
			k := j
			for k < hi && s[k] == ' ' {
				k++
			}
			if name == "framebox" && k < hi && s[k] == '[' {
				if e := strings.IndexByte(s[k:hi], ']'); e >= 0 {
					k += e + 1
				}
			}
			end := -1
			if k < hi && s[k] == '{' {
				end = rw.closing[k]
			}
			if end < 0 || end >= hi {
				i = j
				continue
			}
			inner := rw.run(k+1, end, depth+1)
			i = end + 1
			if textCommands[name] {
				if next, drop := textAsMark(&b, inner, s[:hi], i); drop {
					i = next
					continue
				}
			}
			b.WriteByte(' ')
			b.WriteString(inner)
			b.WriteByte(' ')
		default:
			b.WriteString(s[i:j])
			i = j
		}
	}
	return b.String()
}

// skipGroup returns the index after an optional {...} group starting at or after i.
func (rw *rewriter) skipGroup(i, hi int) int {
	k := i
	for k < hi && rw.s[k] == ' ' {
		k++
	}
	if k < hi && rw.s[k] == '{' {
		if end := rw.closing[k]; end >= 0 && end < hi {
			return end + 1
		}
	}
	return i
}

// textAsMark handles a \text{...} group that is a percent word, a degree word or a unit
// after a quantity: it writes the mark (or nothing) and returns where to continue in s.
func textAsMark(b *strings.Builder, inner, s string, after int) (int, bool) {
	t := strings.TrimSpace(strings.ReplaceAll(inner, "~", " "))
	switch t {
	case "percent", "percentage", "pct", "%":
		b.WriteByte('%')
		return after, true
	case "degrees", "degree", "deg":
		b.WriteString("°")
		return after, true
	}
	if !isUnitText(t) || !quantityBefore(b.String(), len(b.String())) || hasConnectorWord(t) {
		return after, false
	}
	next := skipExponent(s, after)
	k := next
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k < len(s) && !strings.ContainsRune(",;)]}$&.\\=<>", rune(s[k])) {
		return after, false
	}
	return next, true
}

// isUnitText reports whether the content of a \text group reads as a unit: at most three
// words of letters (with / . and exponents), not a lone e or i.
func isUnitText(t string) bool {
	if t == "" || t == "e" || t == "i" || len(strings.Fields(t)) > 3 {
		return false
	}
	letters := 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isLetter(c):
			letters++
		case c == ' ' || c == '/' || c == '.' || c == '^' || c == '-' || c == '{' || c == '}' || isDigit(c) && i > 0 && strings.ContainsRune("^{-", rune(t[i-1])):
		default:
			return false
		}
	}
	return letters > 0
}

// connectorWords never belong to a unit.
var connectorWords = map[string]bool{
	"and": true, "or": true, "to": true, "if": true, "for": true, "where": true, "with": true,
	"when": true, "then": true, "since": true, "because": true, "is": true, "are": true,
	"of": true, "the": true, "a": true, "an": true, "in": true, "at": true, "not": true,
}

func hasConnectorWord(t string) bool {
	for _, w := range strings.Fields(t) {
		if connectorWords[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// degreeMark reports whether s[i:] starts with \circ or {\circ} (after a ^) and returns the
// index after it.
func degreeMark(s string, i int) (int, bool) {
	j := i
	for j < len(s) && s[j] == ' ' {
		j++
	}
	braced := j < len(s) && s[j] == '{'
	if braced {
		j++
		for j < len(s) && s[j] == ' ' {
			j++
		}
	}
	var end int
	switch {
	case strings.HasPrefix(s[j:], `\circ`):
		end = j + len(`\circ`)
	case strings.HasPrefix(s[j:], `\degree`):
		end = j + len(`\degree`)
	default:
		return 0, false
	}
	if end < len(s) && isLetter(s[end]) {
		return 0, false
	}
	if braced {
		for end < len(s) && s[end] == ' ' {
			end++
		}
		if end >= len(s) || s[end] != '}' {
			return 0, false
		}
		end++
	}
	return end, true
}

// skipExponent returns the index after a unit exponent (^2, ^{2}, ^{-1}) at i, or i.
func skipExponent(s string, i int) int {
	if i >= len(s) || s[i] != '^' {
		return i
	}
	j := i + 1
	if j < len(s) && s[j] == '{' {
		end := strings.IndexByte(s[j:], '}')
		if end < 0 {
			return i
		}
		inner := strings.TrimSpace(s[j+1 : j+end])
		if !isDigits(strings.TrimPrefix(inner, "-")) {
			return i
		}
		return j + end + 1
	}
	if j < len(s) && s[j] == '-' {
		j++
	}
	if j < len(s) && isDigit(s[j]) {
		return j + 1
	}
	return i
}

// quantityBefore reports whether s[:i] ends (spaces aside) like a quantity: a digit, a
// closing brace or parenthesis, or a percent or degree sign.
func quantityBefore(s string, i int) bool {
	t := strings.TrimRight(s[:i], " ")
	if t == "" {
		return false
	}
	c := t[len(t)-1]
	return isDigit(c) || c == '}' || c == ')' || c == '%' || strings.HasSuffix(t, "°")
}

// replaceCommaGroups turns "{,}" (with any spaces) into a bare comma.
func replaceCommaGroups(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		found := false
		for i >= 0 && i < len(s) {
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if j < len(s) && s[j] == ',' {
				k := j + 1
				for k < len(s) && s[k] == ' ' {
					k++
				}
				if k < len(s) && s[k] == '}' {
					l := k + 1
					for l < len(s) && s[l] == ' ' {
						l++
					}
					s = strings.TrimRight(s[:i], " ") + "," + s[l:]
					found = true
					break
				}
			}
			next := strings.IndexByte(s[i+1:], '{')
			if next < 0 {
				break
			}
			i += 1 + next
		}
		if !found {
			return s
		}
	}
}

// andOrToComma replaces the words "and" and "or" between items with commas.
func andOrToComma(s string) string {
	var b strings.Builder
	last := 0
	letterRuns(s, func(run string, at int) bool {
		if run != "and" && run != "or" {
			return true
		}
		head := strings.TrimRight(s[last:at], " ")
		b.WriteString(strings.TrimSuffix(head, ","))
		b.WriteString(", ")
		last = at + len(run)
		return true
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// unitWords are units and counted nouns removed after a quantity.
var unitWords = map[string]bool{}

// singleLetterUnits are removed only inside a compound unit (m/s, N m, kg m^2).
var singleLetterUnits = map[string]bool{"m": true, "s": true, "h": true, "g": true, "K": true, "N": true, "J": true, "W": true, "V": true, "L": true}

func init() {
	for _, w := range strings.Fields(`
		unit units square sq cubic cu
		meter meters metre metres cm mm km nm um centimeter centimeters millimeter millimeters
		kilometer kilometers ft foot feet inch inches yd yard yards mile miles
		sec secs second seconds min mins minute minutes hr hrs hour hours day days week weeks
		month months year years yr yrs
		gram grams kg kilogram kilograms mg lb lbs pound pounds oz ounce ounces ton tons
		liter liters litre litres ml mL gallon gallons quart quarts cup cups
		dollar dollars cent cents euro euros yuan rupee rupees rs
		rad radian radians mph kph kmh mps
		Hz kHz MHz GHz eV keV MeV GeV kJ kW MW Pa kPa atm mol dB erg ergs joule joules watt watts
		newton newtons volt volts ohm ohms amp amps kelvin
		way ways people person persons student students child children boy boys girl girls
		man men woman women cookie cookies apple apples marble marbles page pages book books
		coin coins point points step steps time times game games handshake handshakes outfit outfits
		number numbers integer integers digit digits square squares triangle triangles
		diagonal diagonals side sides edge edges face faces vertex vertices seat seats chair chairs
		table tables card cards ball balls box boxes candy candies piece pieces slice slices
		letter letters word words tree trees car cars team teams player players match matches
		round rounds tile tiles cube cubes block blocks bag bags dot dots line lines
		employee employees member members friend friends cent`) {
		unitWords[w] = true
	}
}

// stripUnits removes a unit (a chain of unit words joined by spaces, / or exponents) that
// follows a quantity and ends the answer or one of its items.
func stripUnits(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isLetter(s[i]) || i > 0 && (isLetter(s[i-1]) || s[i-1] == '\\' || s[i-1] == '_' || s[i-1] == '^') {
			i++
			continue
		}
		if !quantityBefore(s, i) {
			for i < len(s) && isLetter(s[i]) {
				i++
			}
			continue
		}
		if end, ok := unitChainEnd(s, i); ok {
			b.WriteString(strings.TrimRight(s[last:i], " "))
			last, i = end, end
			continue
		}
		for i < len(s) && isLetter(s[i]) {
			i++
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// unitChainEnd reads unit words from s[i:] and returns the index after the chain when it is
// a unit followed by the end of the answer or of an item.
func unitChainEnd(s string, i int) (int, bool) {
	words, multi, slash := 0, false, false
	j := i
	for {
		k := j
		for k < len(s) && isLetter(s[k]) {
			k++
		}
		w := s[j:k]
		switch {
		case unitWords[w]:
			multi = multi || len(w) > 1
		case singleLetterUnits[w]:
		default:
			return 0, false
		}
		words++
		j = skipExponent(s, k)
		m := j
		for m < len(s) && s[m] == ' ' {
			m++
		}
		if m < len(s) && (s[m] == '/' || s[m] == '*') {
			slash = slash || s[m] == '/'
			m++
			for m < len(s) && s[m] == ' ' {
				m++
			}
		}
		if words < 4 && m < len(s) && isLetter(s[m]) && m > j {
			j = m
			continue
		}
		if m < len(s) && !strings.ContainsRune(",;)]}&.\\=<>", rune(s[m])) {
			return 0, false
		}
		if !multi && !slash && words < 2 {
			return 0, false
		}
		return j, true
	}
}

// mergeThousands removes thousands separators: "1,000,000" and "1 000" become digits, while
// comma lists such as "1,2" and anything inside brackets, like the pair "(1,000)", are left
// alone.
func mergeThousands(s string) string {
	if isSpaceThousands(s) {
		return strings.ReplaceAll(s, " ", "")
	}
	var b strings.Builder
	last, depth := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		}
		if depth > 0 || !isDigit(s[i]) || i > 0 && (isDigit(s[i-1]) || s[i-1] == ',' || s[i-1] == '.') {
			continue
		}
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == ',' && j+1 < len(s) && isDigit(s[j+1])) {
			j++
		}
		run := s[i:j]
		if strings.IndexByte(run, ',') < 0 || !isThousands(run) {
			i = j
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(strings.ReplaceAll(run, ",", ""))
		last = j
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isThousands reports whether run is digits grouped by commas in threes: 1,234,567.
func isThousands(run string) bool {
	groups := strings.Split(run, ",")
	if len(groups[0]) > 3 || groups[0][0] == '0' {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return false
		}
	}
	return true
}

// isSpaceThousands reports whether s is one number grouped by spaces in threes: 1 000 000.
func isSpaceThousands(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if k := strings.IndexByte(s, '.'); k >= 0 {
		if !isDigits(s[k+1:]) {
			return false
		}
		s = s[:k]
	}
	groups := strings.Split(s, " ")
	if len(groups) < 2 || len(groups[0]) > 3 || !isDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !isDigits(g) {
			return false
		}
	}
	return true
}
