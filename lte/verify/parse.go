package verify

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// parseError carries a parse failure from deep in the recursive descent to parse.
type parseError struct{ msg string }

type parser struct {
	toks     []token
	pos      int
	depth    int
	absDepth int
}

// parse turns a normalised answer into an expression tree. Grammar, loosest first:
//
//	list     item (',' | ';') item ...         bare list, unordered
//	item     union (REL union)*                 relation chain; "x \in S" is S
//	union    sum ('\cup' sum)*
//	sum      [sign] term (('+' | '-' | '\pm') term)*
//	term     unary (('*' | '/' | ':') unary | implicit power)*
//	unary    ('-' | '+' | '\pm') unary | power
//	power    postfix ['^' arg]
//	postfix  primary ('!' | '%' | "'" | '_' sub)*
//
// Primaries are numbers, letters, constants, groups ( ) [ ] { } \{ \}, |x|, \frac, \sqrt,
// \binom, functions, floor and ceiling, matrices and decorated symbols.
func parse(s string) (tree *node, err error) {
	toks, ok := lex(s)
	if !ok {
		return nil, errors.New("unreadable characters or too long")
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			pe, isParse := r.(parseError)
			if !isParse {
				panic(r)
			}
			tree, err = nil, errors.New(pe.msg)
		}
	}()
	items := p.parseSeq()
	if p.peek().kind != tEOF {
		p.fail("unexpected " + p.describe())
	}
	if len(items) == 1 {
		tree = items[0]
	} else {
		tree = &node{kind: nList, kids: items}
	}
	count := 0
	walk(tree, func(*node) bool { count++; return count <= maxNodes })
	if count > maxNodes {
		return nil, errors.New("expression too large")
	}
	return tree, nil
}

func (p *parser) fail(msg string) { panic(parseError{msg}) }

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) describe() string {
	t := p.peek()
	if t.kind == tEOF {
		return "end"
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) isSym(s string) bool {
	t := p.toks[p.pos]
	return t.kind == tSym && t.text == s
}

func (p *parser) isCmd(s string) bool {
	t := p.toks[p.pos]
	return t.kind == tCmd && t.text == s
}

func (p *parser) expectSym(s string) {
	if !p.isSym(s) {
		p.fail("expected " + s + " before " + p.describe())
	}
	p.pos++
}

func (p *parser) expectCmd(s string) {
	if !p.isCmd(s) {
		p.fail("expected \\" + s + " before " + p.describe())
	}
	p.pos++
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail("nesting too deep")
	}
}

func (p *parser) leave() { p.depth-- }

// parseSeq reads items separated by commas or semicolons.
func (p *parser) parseSeq() []*node {
	items := []*node{p.parseItem()}
	for p.isSym(",") || p.isSym(";") {
		p.pos++
		items = append(items, p.parseItem())
	}
	return items
}

// parseItem reads a relation chain. "\approx" cuts the chain (what follows is an estimate)
// unless it directly follows a bare variable, where it reads as "=".
func (p *parser) parseItem() *node {
	first := p.parseUnion()
	if p.peek().kind != tRel {
		return first
	}
	rel := &node{kind: nRel, kids: []*node{first}}
	for p.peek().kind == tRel {
		rel.ops = append(rel.ops, p.next().text)
		rel.kids = append(rel.kids, p.parseUnion())
	}
	for i, op := range rel.ops {
		if op != "~" {
			continue
		}
		if i == 0 && isAssignLHS(rel.kids[0]) {
			rel.ops[0] = "="
			rel.kids, rel.ops = rel.kids[:2], rel.ops[:1]
			break
		}
		rel.kids, rel.ops = rel.kids[:i+1], rel.ops[:i]
		break
	}
	for _, op := range rel.ops {
		if op == "in" {
			if len(rel.ops) != 1 {
				p.fail("membership inside a chain")
			}
			return rel.kids[1]
		}
	}
	if len(rel.kids) == 1 {
		return rel.kids[0]
	}
	return rel
}

func (p *parser) parseUnion() *node {
	first := p.parseSum()
	if !p.isSym("cup") {
		if p.isSym("cap") || p.isSym("setminus") {
			p.fail("set operation not supported")
		}
		return first
	}
	u := &node{kind: nUnion, kids: []*node{first}}
	for p.isSym("cup") {
		p.pos++
		u.kids = append(u.kids, p.parseSum())
	}
	return u
}

func (p *parser) parseSum() *node {
	var acc *node
	for {
		t := p.peek()
		op := ""
		if t.kind == tSym && (t.text == "+" || t.text == "-" || t.text == "pm" || t.text == "mp") {
			op = t.text
			p.pos++
		} else if acc != nil {
			return acc
		}
		term := p.parseTerm()
		switch {
		case op == "pm" || op == "mp":
			acc = &node{kind: nPM, name: op, kids: []*node{acc, term}}
		case acc == nil && op == "-":
			acc = neg(term)
		case acc == nil:
			acc = term
		case op == "-":
			acc = sub(acc, term)
		default:
			acc = add(acc, term)
		}
	}
}

func (p *parser) parseTerm() *node {
	f := p.parseUnary()
	for {
		switch {
		case p.isSym("*"):
			p.pos++
			f = mul(f, p.parseUnary())
		case p.isSym("/") || p.isSym(":"):
			p.pos++
			f = div(f, p.parseUnary())
		case p.startsImplicit():
			f = mul(f, p.parsePower())
		default:
			return f
		}
	}
}

// nonStarters are commands that close or join constructs and never begin a factor.
var nonStarters = map[string]bool{"end": true, "rfloor": true, "rceil": true, "choose": true, "right": true, "over": true}

// startsImplicit reports whether the next token begins a factor multiplied by juxtaposition.
func (p *parser) startsImplicit() bool {
	t := p.peek()
	switch t.kind {
	case tNum, tLetter:
		return true
	case tCmd:
		return !nonStarters[t.text]
	case tSym:
		return t.text == "(" || t.text == "{" || t.text == "|" && p.absDepth == 0
	}
	return false
}

func (p *parser) parseUnary() *node {
	p.enter()
	defer p.leave()
	switch {
	case p.isSym("-"):
		p.pos++
		return neg(p.parseUnary())
	case p.isSym("+"):
		p.pos++
		return p.parseUnary()
	case p.isSym("pm") || p.isSym("mp"):
		name := p.next().text
		return &node{kind: nPM, name: name, kids: []*node{nil, p.parseUnary()}}
	}
	return p.parsePower()
}

func (p *parser) parsePower() *node {
	base := p.parsePostfix()
	if !p.isSym("^") {
		return base
	}
	p.pos++
	if p.isCmd("prime") {
		p.pos++
		return primed(base, p)
	}
	exp := p.parseArg(false)
	n := pow(base, exp)
	for p.isSym("!") {
		p.pos++
		n = funcNode("fact", n)
	}
	return n
}

func primed(n *node, p *parser) *node {
	if n.kind != nSym && n.kind != nConst {
		p.fail("prime on an expression")
	}
	return symNode(n.name + "'")
}

func (p *parser) parsePostfix() *node {
	n := p.parsePrimary()
	for {
		switch {
		case p.isSym("!"):
			p.pos++
			n = funcNode("fact", n)
		case p.isSym("%"):
			p.pos++
			n = mul(n, ratNode(1, 100))
		case p.isSym("'"):
			p.pos++
			n = primed(n, p)
		case p.isSym("_"):
			p.pos++
			script := p.scriptText()
			switch {
			case n.kind == nSym || n.kind == nConst && n.name != "inf":
				n = symNode(n.name + "_" + script)
			case n.kind == nNum && n.lit && isDigits(script):
				n = &node{kind: nBased, name: n.num.RatString() + "_" + script}
			default:
				p.fail("subscript on an expression")
			}
		default:
			return n
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// scriptText reads a subscript as text: a brace group's tokens joined, or one token.
func (p *parser) scriptText() string {
	if !p.isSym("{") {
		t := p.next()
		switch t.kind {
		case tNum, tLetter:
			return t.text
		case tCmd:
			return `\` + t.text
		}
		p.fail("missing subscript")
	}
	p.pos++
	var b strings.Builder
	for level := 1; ; {
		t := p.next()
		switch {
		case t.kind == tEOF:
			p.fail("unclosed subscript")
		case t.kind == tSym && t.text == "{":
			level++
		case t.kind == tSym && t.text == "}":
			level--
			if level == 0 {
				return b.String()
			}
		}
		if t.kind == tCmd {
			b.WriteByte('\\')
		}
		b.WriteString(t.text)
	}
}

// parseArg reads the argument of \frac, \sqrt, \binom, ^ or a log base: a brace group or a
// single token. With splitDigits, a bare multi-digit number gives only its first digit, as
// TeX does for \frac12.
func (p *parser) parseArg(splitDigits bool) *node {
	p.enter()
	defer p.leave()
	t := p.peek()
	switch t.kind {
	case tSym:
		switch t.text {
		case "{":
			items := p.parseBrace()
			if len(items) != 1 {
				p.fail("argument is not one expression")
			}
			return items[0]
		case "(":
			return p.parseGroup()
		case "-":
			p.pos++
			return neg(p.parseArg(splitDigits))
		}
	case tNum:
		if splitDigits && len(t.text) > 1 && t.exp == 0 {
			p.toks[p.pos].text = t.text[1:]
			return p.number(token{kind: tNum, text: t.text[:1]})
		}
		p.pos++
		return p.number(t)
	case tLetter:
		p.pos++
		return letterNode(t.text)
	case tCmd:
		return p.parsePrimary()
	}
	p.fail("missing argument before " + p.describe())
	return nil
}

// number converts a numeric token to an exact rational.
func (p *parser) number(t token) *node {
	r, ok := new(big.Rat).SetString(t.text)
	if !ok {
		p.fail("bad number " + t.text)
	}
	if t.exp != 0 {
		if t.exp > maxDecimalExponent || t.exp < -maxDecimalExponent {
			p.fail("exponent out of range")
		}
		e := t.exp
		if e < 0 {
			e = -e
		}
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
		if t.exp > 0 {
			r.Mul(r, scale)
		} else {
			r.Quo(r, scale)
		}
	}
	n := numNode(r, t.exp != 0 || strings.IndexByte(t.text, '.') >= 0)
	n.lit = !n.dec
	if n.dec {
		digits := 0
		if k := strings.IndexByte(t.text, '.'); k >= 0 {
			digits = len(t.text) - k - 1
		}
		n.ulp = math.Pow(10, float64(t.exp-digits))
		n.sig = len(strings.TrimLeft(strings.Replace(t.text, ".", "", 1), "0"))
	}
	return n
}

func letterNode(c string) *node {
	switch c {
	case "e", "i":
		return constNode(c)
	}
	return symNode(c)
}

// parseBrace reads a { } group and returns its items ({n \choose k} gives a binomial).
func (p *parser) parseBrace() []*node {
	p.expectSym("{")
	if p.isSym("}") {
		p.fail("empty group")
	}
	first := p.parseItem()
	if p.isCmd("choose") {
		p.pos++
		k := p.parseItem()
		p.expectSym("}")
		return []*node{funcNode("binom", first, k)}
	}
	items := []*node{first}
	for p.isSym(",") || p.isSym(";") {
		p.pos++
		items = append(items, p.parseItem())
	}
	p.expectSym("}")
	return items
}

// parseGroup reads ( ) or [ ] with any mix of bracket kinds: one item is a grouping, two
// items with a square bracket (or an infinite end) an interval, otherwise a tuple.
func (p *parser) parseGroup() *node {
	open := p.next().text
	items := p.parseSeq()
	t := p.next()
	if t.kind != tSym || t.text != ")" && t.text != "]" {
		p.fail("unclosed " + open)
	}
	closer := t.text
	same := open == "(" && closer == ")" || open == "[" && closer == "]"
	switch {
	case len(items) == 1:
		if !same {
			p.fail("interval with one end")
		}
		return items[0]
	case len(items) == 2 && (!same || open == "[" || infinitySign(items[0]) != 0 || infinitySign(items[1]) != 0):
		return &node{kind: nInterval, kids: items, lc: open == "[", rc: closer == "]"}
	case !same:
		p.fail("mismatched brackets")
	}
	return &node{kind: nTuple, kids: items, paren: open == "("}
}

// functionNames maps function commands to the evaluator's names.
var functionNames = map[string]string{
	"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
	"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsec": "asec", "arccsc": "acsc", "arccot": "acot",
	"sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "ln": "ln", "log": "log", "lg": "log10", "exp": "exp",
}

// inverseTrig maps a function to its inverse, for \sin^{-1}.
var inverseTrig = map[string]string{"sin": "asin", "cos": "acos", "tan": "atan", "sec": "asec", "csc": "acsc", "cot": "acot"}

// listFunctions take a parenthesised or braced argument list.
var listFunctions = map[string]bool{"gcd": true, "lcm": true, "max": true, "min": true, "abs": true, "floor": true, "ceil": true}

// decorations wrap a symbol name: \vec{v} is a variable of its own.
var decorations = map[string]bool{
	"vec": true, "overline": true, "bar": true, "hat": true, "tilde": true, "dot": true, "ddot": true,
	"overrightarrow": true, "widehat": true, "widetilde": true, "underline": true, "mathbf": true,
	"mathcal": true, "boldsymbol": true, "check": true, "acute": true, "grave": true, "breve": true,
	"overleftrightarrow": true, "mathfrak": true, "mathscr": true, "bm": true,
}

// unsupported commands make an answer unparsable (it is then compared as text).
var unsupported = map[string]bool{
	"sum": true, "prod": true, "int": true, "iint": true, "oint": true, "lim": true, "partial": true,
	"nabla": true, "cdots": true, "ldots": true, "dots": true, "end": true, "rfloor": true, "rceil": true,
	"choose": true, "over": true, "text": true, "mbox": true, "hline": true, "overset": true,
	"underset": true, "stackrel": true, "not": true, "to": true, "rightarrow": true, "Rightarrow": true,
	"implies": true, "iff": true, "forall": true, "exists": true, "land": true, "lor": true, "neg": true,
	"wedge": true, "vee": true, "Longrightarrow": true, "mapsto": true, "perp": true, "parallel": true,
	"sim": true, "cong": true, "left": true, "right": true, "circ": true, "notin": true, "subset": true,
	"subseteq": true, "supset": true,
}

func (p *parser) parsePrimary() *node {
	p.enter()
	defer p.leave()
	t := p.next()
	switch t.kind {
	case tNum:
		n := p.number(t)
		if n.lit && p.isCmd("frac") {
			p.pos++
			a, b := p.parseArg(true), p.parseArg(true)
			if a.lit && b.lit && !isNum(b, 0) {
				return add(n, div(a, b))
			}
			return mul(n, div(a, b))
		}
		return n
	case tLetter:
		return letterNode(t.text)
	case tCmd:
		return p.parseCommand(t.text)
	case tLSet:
		if p.peek().kind == tRSet {
			p.pos++
			return &node{kind: nSet}
		}
		items := p.parseSeq()
		if p.next().kind != tRSet {
			p.fail("unclosed set")
		}
		return &node{kind: nSet, kids: items}
	case tSym:
		switch t.text {
		case "(", "[":
			p.pos--
			return p.parseGroup()
		case "{":
			p.pos--
			items := p.parseBrace()
			if len(items) == 1 {
				return items[0]
			}
			return &node{kind: nSet, kids: items}
		case "|":
			p.absDepth++
			e := p.parseSum()
			p.absDepth--
			p.expectSym("|")
			return funcNode("abs", e)
		}
	}
	if t.kind != tEOF {
		p.pos--
	}
	p.fail("unexpected " + p.describe())
	return nil
}

func (p *parser) parseCommand(name string) *node {
	switch name {
	case "frac":
		a, b := p.parseArg(true), p.parseArg(true)
		return div(a, b)
	case "binom":
		a, b := p.parseArg(true), p.parseArg(true)
		return funcNode("binom", a, b)
	case "sqrt":
		if p.isSym("[") {
			p.pos++
			index := p.parseSum()
			p.expectSym("]")
			return funcNode("root", p.parseArg(true), index)
		}
		return funcNode("sqrt", p.parseArg(true))
	case "pi":
		return constNode("pi")
	case "infty":
		return constNode("inf")
	case "imath", "jmath":
		return constNode("i")
	case "emptyset", "varnothing":
		return &node{kind: nSet}
	case "lfloor", "lceil":
		e := p.parseSum()
		if name == "lfloor" {
			p.expectCmd("rfloor")
			return funcNode("floor", e)
		}
		p.expectCmd("rceil")
		return funcNode("ceil", e)
	case "begin":
		return p.parseMatrix()
	case "mathbb":
		s := p.scriptText()
		if s == "R" {
			return &node{kind: nInterval, kids: []*node{neg(constNode("inf")), constNode("inf")}}
		}
		return symNode(`\mathbb{` + s + "}")
	case "operatorname":
		s := strings.TrimPrefix(p.scriptText(), `\`)
		if fn, ok := functionNames[s]; ok {
			return p.parseFunction(fn, s)
		}
		if listFunctions[s] {
			return p.parseListFunction(s)
		}
		return symNode(s)
	}
	if fn, ok := functionNames[name]; ok {
		return p.parseFunction(fn, name)
	}
	if listFunctions[name] {
		return p.parseListFunction(name)
	}
	if decorations[name] {
		return symNode(`\` + name + "{" + p.scriptText() + "}")
	}
	if unsupported[name] {
		p.fail(`\` + name + " not supported")
	}
	return symNode(`\` + name)
}

// parseFunction reads \sin x, \sin^2(x), \sin^{-1} x, \log_b x, \ln(x) and the like.
func (p *parser) parseFunction(fn, name string) *node {
	var base, power *node
	if p.isSym("_") && fn == "log" {
		p.pos++
		base = p.parseArg(false)
	}
	if p.isSym("^") {
		p.pos++
		power = p.parseArg(false)
		if inv, ok := inverseTrig[name]; ok && isNum(power, -1) {
			fn, power = inv, nil
		}
	}
	if p.isSym("_") && fn == "log" && base == nil {
		p.pos++
		base = p.parseArg(false)
	}
	arg := p.parseFuncArg()
	var n *node
	switch {
	case base != nil:
		n = funcNode("logb", arg, base)
	case fn == "log10":
		n = funcNode("logb", arg, intNode(10))
	default:
		n = funcNode(fn, arg)
	}
	if power != nil {
		n = pow(n, power)
	}
	return n
}

// parseFuncArg reads a function argument: a parenthesised or braced group, or a product of
// factors up to the next function.
func (p *parser) parseFuncArg() *node {
	if p.isSym("(") {
		return p.parseGroup()
	}
	if p.isSym("{") {
		items := p.parseBrace()
		if len(items) != 1 {
			p.fail("function of a list")
		}
		return items[0]
	}
	arg := p.parsePower()
	for p.startsImplicit() && !p.isSym("(") && !p.atFunction() {
		arg = mul(arg, p.parsePower())
	}
	return arg
}

func (p *parser) atFunction() bool {
	t := p.peek()
	if t.kind != tCmd {
		return false
	}
	_, ok := functionNames[t.text]
	return ok || t.text == "sqrt" || listFunctions[t.text]
}

// parseListFunction reads gcd(a, b), \max\{a, b\}, floor(x) and the like.
func (p *parser) parseListFunction(name string) *node {
	var args []*node
	switch {
	case p.isSym("("):
		p.pos++
		args = p.parseSeq()
		p.expectSym(")")
	case p.isSym("{"):
		args = p.parseBrace()
	case p.peek().kind == tLSet:
		p.pos++
		args = p.parseSeq()
		if p.next().kind != tRSet {
			p.fail("unclosed set")
		}
	default:
		args = []*node{p.parsePower()}
	}
	if name == "abs" || name == "floor" || name == "ceil" {
		if len(args) != 1 {
			p.fail(name + " takes one argument")
		}
	}
	return funcNode(name, args...)
}

// matrixEnvs are the environments read as matrices.
var matrixEnvs = map[string]bool{
	"pmatrix": true, "bmatrix": true, "Bmatrix": true, "vmatrix": true, "Vmatrix": true,
	"matrix": true, "smallmatrix": true, "array": true,
}

// envName reads {name} after \begin or \end.
func (p *parser) envName() string {
	p.expectSym("{")
	var b strings.Builder
	for p.peek().kind == tLetter || p.peek().kind == tCmd {
		b.WriteString(p.next().text)
	}
	p.expectSym("}")
	return b.String()
}

func (p *parser) parseMatrix() *node {
	env := p.envName()
	if !matrixEnvs[env] {
		p.fail("environment " + env + " not supported")
	}
	if env == "array" && p.isSym("{") {
		for !p.isSym("}") {
			if p.next().kind == tEOF {
				p.fail("unclosed column specification")
			}
		}
		p.pos++
	}
	var rows [][]*node
	var row []*node
	for {
		switch {
		case p.isCmd("end"):
			p.pos++
			if p.envName() != env {
				p.fail("mismatched \\end")
			}
			if len(row) > 0 {
				rows = append(rows, row)
			}
			return matrixNode(p, rows)
		case p.peek().kind == tRow:
			p.pos++
			if len(row) > 0 {
				rows = append(rows, row)
			}
			row = nil
			continue
		case p.peek().kind == tEOF:
			p.fail("unclosed matrix")
		}
		row = append(row, p.parseItem())
		if p.isSym("&") {
			p.pos++
		}
	}
}

func matrixNode(p *parser, rows [][]*node) *node {
	if len(rows) == 0 {
		p.fail("empty matrix")
	}
	m := &node{kind: nMatrix, rows: len(rows), cols: len(rows[0])}
	for _, r := range rows {
		if len(r) != m.cols {
			p.fail("ragged matrix")
		}
		m.kids = append(m.kids, r...)
	}
	return m
}
