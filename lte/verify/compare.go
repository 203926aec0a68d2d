package verify

import (
	"cmp"
	"math"
	"math/big"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"sort"
)

// comparer decides the equivalence of two expression trees within a work budget, so that
// pathological answers (huge lists, deep trees) stay bounded in time.
type comparer struct {
	budget int
}

func (c *comparer) spend(units int) bool {
	c.budget -= units
	return c.budget >= 0
}

// equal reports whether the predicted tree p is equivalent to the gold tree g.
//
// Relations: an equation in the prediction is read as its right side when the gold is a
// value ("x = 5" answers 5); a gold assignment (variable = value) is read as its value when
// the prediction is a value. Two equations are equal when their sides agree or when
// lhs-rhs of one is a non-zero multiple of the other's; inequalities in one variable are
// equal to each other or to interval sets when they hold at the same points.
//
// Collections: tuples and matrices are compared in order, sets and bare lists as sets
// (repeated elements count once), intervals and unions by their pieces (bracket kinds
// matter). A tuple against a set or list is compared in written order; a single value
// matches a list only when every element equals it. Scalars are compared by value.
func (c *comparer) equal(g, p *node) bool {
	if !c.spend(1) {
		return false
	}
	g, p = prepare(g), prepare(p)
	gr, pr := g.kind == nRel, p.kind == nRel
	switch {
	case pr && !gr:
		if isEquation(p) {
			if !isAssignLHS(p.kids[0]) && isAssignLHS(p.kids[1]) {
				return c.equal(g, p.kids[0])
			}
			return c.equal(g, p.kids[1])
		}
		return setLike(g) && c.relationVsSet(p, g)
	case gr && !pr:
		if isEquation(g) {
			switch {
			case isAssignLHS(g.kids[0]):
				return c.equal(g.kids[1], p)
			case isAssignLHS(g.kids[1]):
				return c.equal(g.kids[0], p)
			}
			return false
		}
		return setLike(p) && c.relationVsSet(g, p)
	case gr && pr:
		return c.relationsEqual(g, p)
	}
	switch {
	case g.kind == nMatrix || p.kind == nMatrix:
		return c.matricesEqual(g, p)
	case intervalLike(g, p):
		return c.intervalsEqual(g, p)
	case g.kind == nTuple && (p.kind == nTuple || unordered(p)) || unordered(g) && p.kind == nTuple:
		return c.ordered(g.kids, p.kids)
	case unordered(g) && unordered(p):
		return c.unordered(g.kids, p.kids)
	case unordered(g) || unordered(p):
		// One value against a list: every element must be that value ("\boxed{0.5} or
		// \boxed{1/2}" answers 1/2, "2 or 3" does not).
		list, single := g, p
		if unordered(p) {
			list, single = p, g
		}
		for _, k := range list.kids {
			if !c.equal(k, single) {
				return false
			}
		}
		return len(list.kids) > 0
	case isCollection(g) || isCollection(p):
		return false
	case g.kind == nBased || p.kind == nBased:
		return g.kind == p.kind && g.name == p.name
	}
	return c.scalarsEqual(g, p)
}

func unordered(n *node) bool { return n.kind == nSet || n.kind == nList }

func isEquation(n *node) bool { return n.kind == nRel && len(n.ops) == 1 && n.ops[0] == "=" }

// isAssignLHS reports whether n can name what an equation assigns: variables, their products
// and quotients (f(x), AB, NO/BO, A:B), |AB|, or a tuple of variables (p, q).
func isAssignLHS(n *node) bool {
	switch n.kind {
	case nSym:
		return true
	case nConst:
		return n.name == "e" || n.name == "i"
	case nMul:
		for _, k := range n.kids {
			if !isAssignLHS(k) {
				return false
			}
		}
		return true
	case nPow:
		return isNum(n.kids[1], -1) && isAssignLHS(n.kids[0])
	case nFunc:
		return n.name == "abs" && isAssignLHS(n.kids[0])
	case nTuple:
		for _, k := range n.kids {
			if k.kind != nSym {
				return false
			}
		}
		return true
	}
	return false
}

// prepare expands ±, multiplies out matrix arithmetic, shortens equation chains and unwraps
// one-element lists.
func prepare(n *node) *node {
	n = expandPM(n)
	if has(n, func(m *node) bool { return m.kind == nMatrix }) {
		n = foldMatrices(n)
	}
	if n.kind == nRel && len(n.kids) >= 3 {
		allEq := true
		for _, op := range n.ops {
			allEq = allEq && op == "="
		}
		if allEq {
			last := n.kids[len(n.kids)-1]
			if !isAssignLHS(n.kids[0]) {
				return last
			}
			n = &node{kind: nRel, ops: []string{"="}, kids: []*node{n.kids[0], last}}
		}
	}
	if n.kind == nList && len(n.kids) == 1 {
		return n.kids[0]
	}
	return n
}

func hasPM(n *node) bool { return has(n, func(m *node) bool { return m.kind == nPM }) }

// expandPM turns a ± b into the list of both values (the same sign throughout, ∓ opposite);
// inside a set or list the two values become two elements.
func expandPM(n *node) *node {
	if !hasPM(n) {
		return n
	}
	if unordered(n) {
		out := &node{kind: n.kind}
		for _, k := range n.kids {
			if hasPM(k) && !isCollection(k) {
				out.kids = append(out.kids, signed(k, 1), signed(k, -1))
			} else {
				out.kids = append(out.kids, k)
			}
		}
		return out
	}
	return &node{kind: nList, kids: []*node{signed(n, 1), signed(n, -1)}}
}

// signed rebuilds n with every ± replaced by the sign s (∓ by -s).
func signed(n *node, s int) *node {
	if n == nil || !hasPM(n) {
		return n
	}
	if n.kind == nPM {
		sign := s
		if n.name == "mp" {
			sign = -s
		}
		b := signed(n.kids[1], s)
		if sign < 0 {
			b = neg(b)
		}
		if n.kids[0] == nil {
			return b
		}
		return add(signed(n.kids[0], s), b)
	}
	out := *n
	out.exactDone = false
	out.kids = make([]*node, len(n.kids))
	for i, k := range n.kids {
		out.kids[i] = signed(k, s)
	}
	return &out
}

// foldMatrices evaluates sums and products of matrix literals into one matrix of entry trees.
func foldMatrices(n *node) *node {
	if n.kind != nAdd && n.kind != nMul {
		return n
	}
	kids := make([]*node, len(n.kids))
	for i, k := range n.kids {
		kids[i] = foldMatrices(k)
	}
	acc := kids[0]
	for _, k := range kids[1:] {
		var ok bool
		if n.kind == nAdd {
			acc, ok = addMatrices(acc, k)
		} else {
			acc, ok = mulMatrices(acc, k)
		}
		if !ok {
			return n
		}
	}
	return acc
}

func addMatrices(a, b *node) (*node, bool) {
	if a.kind != nMatrix || b.kind != nMatrix || a.rows != b.rows || a.cols != b.cols {
		return nil, false
	}
	m := &node{kind: nMatrix, rows: a.rows, cols: a.cols, kids: make([]*node, len(a.kids))}
	for i := range a.kids {
		m.kids[i] = add(a.kids[i], b.kids[i])
	}
	return m, true
}

func mulMatrices(a, b *node) (*node, bool) {
	switch {
	case a.kind != nMatrix && b.kind != nMatrix:
		return mul(a, b), true
	case a.kind != nMatrix || b.kind != nMatrix:
		m, s := a, b
		if m.kind != nMatrix {
			m, s = b, a
		}
		if isCollection(s) || s.kind == nRel {
			return nil, false
		}
		out := &node{kind: nMatrix, rows: m.rows, cols: m.cols, kids: make([]*node, len(m.kids))}
		for i, k := range m.kids {
			out.kids[i] = mul(s, k)
		}
		return out, true
	case a.cols != b.rows || a.rows > maxMatrixDim || b.cols > maxMatrixDim || a.cols > maxMatrixDim:
		return nil, false
	}
	out := &node{kind: nMatrix, rows: a.rows, cols: b.cols}
	for i := 0; i < a.rows; i++ {
		for j := 0; j < b.cols; j++ {
			sum := &node{kind: nAdd}
			for k := 0; k < a.cols; k++ {
				sum.kids = append(sum.kids, mul(a.kids[i*a.cols+k], b.kids[k*b.cols+j]))
			}
			out.kids = append(out.kids, sum)
		}
	}
	return out, true
}

func (c *comparer) ordered(a, b []*node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !c.equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// unordered matches two sets greedily, after dropping repeated elements: each gold element
// takes the first equal unused predicted element.
func (c *comparer) unordered(a, b []*node) bool {
	a, b = distinct(a), distinct(b)
	if len(a) != len(b) {
		return false
	}
	if len(a) > maxUnordered {
		return c.ordered(a, b)
	}
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && c.equal(x, y) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// distinct drops elements written identically to an earlier one: {1, 1, 2} is {1, 2}.
func distinct(ns []*node) []*node {
	if len(ns) < 2 {
		return ns
	}
	seen := make(map[string]bool, len(ns))
	out := make([]*node, 0, len(ns))
	for _, n := range ns {
		if k := n.key(); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

func (c *comparer) matricesEqual(g, p *node) bool {
	if g.kind != nMatrix {
		g, p = p, g
	}
	switch {
	case p.kind == nMatrix:
		if g.rows != p.rows || g.cols != p.cols {
			return false
		}
	case p.kind == nTuple && (g.rows == 1 || g.cols == 1):
		if len(p.kids) != len(g.kids) {
			return false
		}
	default:
		return false
	}
	return c.ordered(g.kids, p.kids)
}

// piece is one interval (or, with lo == hi and both ends closed, one point) of a set.
type piece struct {
	lo, hi *node
	lc, rc bool
}

// pieces splits an interval, an open pair (a, b), a finite set or a union into pieces.
func pieces(n *node) ([]piece, bool) {
	switch n.kind {
	case nInterval:
		return []piece{{n.kids[0], n.kids[1], n.lc, n.rc}}, true
	case nTuple:
		if len(n.kids) == 2 && n.paren {
			return []piece{{n.kids[0], n.kids[1], false, false}}, true
		}
	case nSet:
		out := make([]piece, 0, len(n.kids))
		for _, k := range n.kids {
			if isCollection(k) || k.kind == nRel {
				return nil, false
			}
			out = append(out, piece{k, k, true, true})
		}
		return out, true
	case nUnion:
		var out []piece
		for _, k := range n.kids {
			ps, ok := pieces(k)
			if !ok {
				return nil, false
			}
			out = append(out, ps...)
		}
		return out, true
	}
	return nil, false
}

// intervalLike reports whether g and p should be compared as subsets of the real line.
func intervalLike(g, p *node) bool {
	isI := func(n *node) bool { return n.kind == nInterval || n.kind == nUnion }
	return isI(g) || isI(p)
}

// setLike reports whether n can be compared with an inequality as a set of reals.
func setLike(n *node) bool {
	switch n.kind {
	case nInterval, nUnion, nSet:
		return true
	case nTuple:
		return len(n.kids) == 2 && n.paren
	}
	return false
}

func (c *comparer) intervalsEqual(g, p *node) bool {
	pg, ok := pieces(g)
	if !ok {
		return false
	}
	pp, ok := pieces(p)
	if !ok || len(pg) != len(pp) {
		return false
	}
	sortPieces(pg)
	sortPieces(pp)
	for i := range pg {
		a, b := pg[i], pp[i]
		if (a.lc != b.lc && infinitySign(a.lo) == 0) || (a.rc != b.rc && infinitySign(a.hi) == 0) {
			return false
		}
		if !c.equal(a.lo, b.lo) || !c.equal(a.hi, b.hi) {
			return false
		}
	}
	return true
}

// sortPieces orders pieces by their numeric lower ends; pieces with symbolic ends keep their
// written order.
func sortPieces(ps []piece) {
	keys := make(map[*node]float64, len(ps))
	for _, p := range ps {
		k := realValue(p.lo)
		if math.IsNaN(k) {
			return
		}
		keys[p.lo] = k
	}
	slices.SortStableFunc(ps, func(a, b piece) int { return cmp.Compare(keys[a.lo], keys[b.lo]) })
}

// realValue is the real value of a constant tree, NaN if it has none.
func realValue(n *node) float64 {
	if s := infinitySign(n); s != 0 {
		return math.Inf(s)
	}
	if len(freeVars(n)) > 0 {
		return math.NaN()
	}
	v := evalNum(n, &point{})
	if !isReal(v) && math.Abs(imag(v)) > 1e-12*math.Max(1, math.Abs(real(v))) {
		return math.NaN()
	}
	return real(v)
}

// scalarsEqual compares two values: exactly when both are rational and written without
// decimals, with relative tolerance tolDecimal when a decimal literal is involved, and
// numerically at sample points (tolerance tolNumeric) otherwise. A side that is a plain
// decimal number must also agree to within one unit of its last digit (16386.2 matches
// 16386.16, 16387 does not); a decimal of four or more significant digits also matches the
// value it rounds (0.1667 matches 1/6).
func (c *comparer) scalarsEqual(g, p *node) bool {
	dec := hasDecimal(g) || hasDecimal(p)
	tol := tolNumeric
	if dec {
		tol = tolDecimal
	}
	ulp := math.Max(plainULP(g), plainULP(p))
	gv, gok := exact(g)
	pv, pok := exact(p)
	if gok && pok {
		if !dec {
			return gv.Cmp(pv) == 0
		}
		diff, _ := new(big.Rat).Sub(gv, pv).Float64()
		diff = math.Abs(diff)
		return ratClose(gv, pv) && (ulp == 0 || diff <= ulp*(1+1e-9)) || roundedMatch(g, p, diff)
	}
	vars := freeVars(g, p)
	pts, ok := samplePoints(vars, hasIntegerFunction(g) || hasIntegerFunction(p))
	if !ok {
		return false
	}
	valid, cost := 0, 1+(size(g)+size(p))/32
	for i := range pts {
		if !c.spend(cost) {
			return false
		}
		a, b := evalNum(g, &pts[i]), evalNum(p, &pts[i])
		switch {
		case isFinite(a) && isFinite(b):
			diff := cmplx.Abs(a - b)
			if (!closeC(a, b, tol) || ulp > 0 && diff > ulp*(1+1e-9)) && !(len(vars) == 0 && roundedMatch(g, p, diff)) {
				return false
			}
			valid++
		case sameInfinity(a, b) && hasInfinity(g) && hasInfinity(p):
			valid++
		case len(vars) == 0 && isFinite(a) != isFinite(b):
			return false
		}
	}
	if len(vars) == 0 {
		return valid == 1
	}
	return valid >= minValidPoints
}

// plainDecimal returns n if it is a decimal literal (or the negation of one), else nil.
func plainDecimal(n *node) *node {
	if n.kind == nMul && len(n.kids) == 2 && isNum(n.kids[0], -1) {
		n = n.kids[1]
	}
	if n.kind == nNum && n.dec {
		return n
	}
	return nil
}

// plainULP is the last-digit unit of a decimal literal, 0 for anything else.
func plainULP(n *node) float64 {
	if d := plainDecimal(n); d != nil {
		return d.ulp
	}
	return 0
}

// roundedMatch reports whether one side is a decimal of at least four significant digits
// that is the other value correctly rounded (0.1667 for 1/6, 1.414 for sqrt 2).
func roundedMatch(g, p *node, diff float64) bool {
	for _, n := range []*node{g, p} {
		if d := plainDecimal(n); d != nil && d.sig >= 4 && diff <= d.ulp/2*(1+1e-9) {
			return true
		}
	}
	return false
}

// tolDecimalRat is tolDecimal as an exact rational, with a hair of slack so that a decimal
// exactly at the tolerance (0.3333 for 1/3) passes.
var tolDecimalRat = new(big.Rat).SetFrac64(10001, 100000000)

// ratClose reports |a-b| <= tolDecimal * max(|a|, |b|) in exact arithmetic.
func ratClose(a, b *big.Rat) bool {
	diff := new(big.Rat).Sub(a, b)
	diff.Abs(diff)
	scale := new(big.Rat).Abs(a)
	if bb := new(big.Rat).Abs(b); bb.Cmp(scale) > 0 {
		scale = bb
	}
	return diff.Cmp(scale.Mul(scale, tolDecimalRat)) <= 0
}

func closeC(a, b complex128, tol float64) bool {
	d := cmplx.Abs(a - b)
	return d <= tol*math.Max(cmplx.Abs(a), cmplx.Abs(b)) || d <= tolAbsolute
}

func hasInfinity(n *node) bool {
	return has(n, func(m *node) bool { return m.kind == nConst && m.name == "inf" })
}

func sameInfinity(a, b complex128) bool {
	return imag(a) == 0 && imag(b) == 0 && math.IsInf(real(a), 0) && real(a) == real(b)
}

// Sample points for expressions with variables: a fixed seed keeps verdicts reproducible.
// Real points lie in [0.4, 2.9] (positive, away from branch cuts and common poles);
// integer points in 2..13, for floor, factorial and the like.
var realPoints, intPoints = makePoints()

func makePoints() (r, n [numPoints][maxVars]float64) {
	rng := rand.New(rand.NewPCG(0x1e7e, 0x5eed))
	for i := range r {
		for j := range r[i] {
			r[i][j] = 0.4 + 2.5*rng.Float64()
			n[i][j] = float64(2 + rng.IntN(12))
		}
	}
	return r, n
}

// samplePoints binds the variables to the sample values; without variables it returns one
// empty point. ok is false when there are more variables than the tables hold.
func samplePoints(vars []string, integer bool) ([]point, bool) {
	if len(vars) == 0 {
		return []point{{}}, true
	}
	if len(vars) > maxVars {
		return nil, false
	}
	table := &realPoints
	if integer {
		table = &intPoints
	}
	pts := make([]point, numPoints)
	for i := range pts {
		vals := make([]complex128, len(vars))
		for j := range vars {
			vals[j] = complex(table[i][j], 0)
		}
		pts[i] = point{names: vars, vals: vals}
	}
	return pts, true
}

// relationsEqual compares two relation chains.
func (c *comparer) relationsEqual(g, p *node) bool {
	if isEquation(g) && isEquation(p) {
		gl, gr, pl, pr := g.kids[0], g.kids[1], p.kids[0], p.kids[1]
		if isAssignLHS(gl) && isAssignLHS(pl) && gl.key() == pl.key() {
			return c.equal(gr, pr)
		}
		for _, k := range []*node{gl, gr, pl, pr} {
			if isCollection(k) {
				return c.equal(gl, pl) && c.equal(gr, pr) || c.equal(gl, pr) && c.equal(gr, pl)
			}
		}
		return c.proportional(sub(gl, gr), sub(pl, pr), false)
	}
	for _, r := range []*node{g, p} {
		for _, op := range r.ops {
			if op == "=" {
				return false
			}
		}
	}
	if vg, vp := freeVars(g), freeVars(p); len(vg) == 1 && len(vp) == 1 && vg[0] == vp[0] {
		fg, cg, okg := relationPredicate(g)
		fp, cp, okp := relationPredicate(p)
		if okg && okp {
			return c.samePoints(fg, fp, append(cg, cp...))
		}
	}
	if len(g.ops) != len(p.ops) {
		return false
	}
	if direction(g.ops[0]) != direction(p.ops[0]) {
		p = reversed(p)
	}
	for i, op := range g.ops {
		dg, sg := normalInequality(g.kids[i], op, g.kids[i+1])
		dp, sp := normalInequality(p.kids[i], p.ops[i], p.kids[i+1])
		if sg != sp || !c.proportional(dg, dp, op != "!=") {
			return false
		}
	}
	return true
}

// direction is +1 for < and <=, -1 for > and >=, 0 for !=.
func direction(op string) int {
	switch op {
	case "<", "<=":
		return 1
	case ">", ">=":
		return -1
	}
	return 0
}

// reversed writes a chain backwards: a < b < c becomes c > b > a.
func reversed(r *node) *node {
	out := &node{kind: nRel, kids: make([]*node, len(r.kids)), ops: make([]string, len(r.ops))}
	flip := map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "!=": "!="}
	for i, k := range r.kids {
		out.kids[len(r.kids)-1-i] = k
	}
	for i, op := range r.ops {
		out.ops[len(r.ops)-1-i] = flip[op]
	}
	return out
}

// normalInequality writes a op b as d < 0 (or d <= 0, d != 0) and returns d and the
// strictness ("<", "<=" or "!=").
func normalInequality(a *node, op string, b *node) (*node, string) {
	switch op {
	case ">":
		return sub(b, a), "<"
	case ">=":
		return sub(b, a), "<="
	}
	return sub(a, b), op
}

// proportional reports whether dg = k * dp for a constant k != 0 (k > 0 when positive).
func (c *comparer) proportional(dg, dp *node, positive bool) bool {
	vars := freeVars(dg, dp)
	if len(vars) == 0 {
		a, aok := exact(dg)
		b, bok := exact(dp)
		return aok && bok && a.Sign() == 0 && b.Sign() == 0
	}
	pts, ok := samplePoints(vars, hasIntegerFunction(dg) || hasIntegerFunction(dp))
	if !ok {
		return false
	}
	var ratio complex128
	haveRatio, valid := false, 0
	for i := range pts {
		if !c.spend(1) {
			return false
		}
		a, b := evalNum(dg, &pts[i]), evalNum(dp, &pts[i])
		if !isFinite(a) || !isFinite(b) {
			continue
		}
		valid++
		if cmplx.Abs(b) <= tolAbsolute {
			if cmplx.Abs(a) > tolAbsolute {
				return false
			}
			continue
		}
		r := a / b
		if !haveRatio {
			ratio, haveRatio = r, true
		} else if !closeC(r, ratio, tolNumeric*100) {
			return false
		}
	}
	if valid < minValidPoints {
		return false
	}
	if !haveRatio {
		return true
	}
	if cmplx.Abs(ratio) <= tolAbsolute {
		return false
	}
	return !positive || real(ratio) > 0 && math.Abs(imag(ratio)) <= tolNumeric*cmplx.Abs(ratio)
}

// memberFunc reports whether a real number belongs to a set; ok is false where undefined.
type memberFunc func(t float64) (in, ok bool)

// relationPredicate turns a relation chain in one variable (or one repeated sub-expression,
// as f(x) in 0 < f(x) < 1) into a membership test, with the chain's constants.
func relationPredicate(r *node) (memberFunc, []float64, bool) {
	var consts []float64
	var varKey string
	for _, k := range r.kids {
		if isCollection(k) {
			return nil, nil, false
		}
		if len(freeVars(k)) == 0 {
			v := realValue(k)
			if math.IsNaN(v) {
				return nil, nil, false
			}
			consts = append(consts, v)
			continue
		}
		if varKey == "" {
			varKey = k.key()
		}
	}
	vars := freeVars(r)
	single := len(vars) == 1
	if !single {
		for _, k := range r.kids {
			if len(freeVars(k)) > 0 && k.key() != varKey {
				return nil, nil, false
			}
		}
	}
	fn := func(t float64) (bool, bool) {
		pt := &point{}
		if single {
			pt = &point{names: vars, vals: []complex128{complex(t, 0)}}
		}
		vals := make([]float64, len(r.kids))
		for i, k := range r.kids {
			var v complex128
			if !single && len(freeVars(k)) > 0 {
				v = complex(t, 0)
			} else {
				v = evalNum(k, pt)
			}
			if math.IsNaN(real(v)) || math.Abs(imag(v)) > 1e-9*math.Max(1, math.Abs(real(v))) {
				return false, false
			}
			vals[i] = real(v)
		}
		for i, op := range r.ops {
			if !holds(vals[i], op, vals[i+1]) {
				return false, true
			}
		}
		return true, true
	}
	return fn, consts, true
}

// holds evaluates a op b with a tolerance for equality of computed boundaries.
func holds(a float64, op string, b float64) bool {
	eps := 1e-12 * math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	if math.IsInf(eps, 0) {
		eps = 0
	}
	switch op {
	case "<":
		return a < b-eps
	case "<=":
		return a <= b+eps
	case ">":
		return a > b+eps
	case ">=":
		return a >= b-eps
	case "=":
		return math.Abs(a-b) <= eps
	case "!=":
		return math.Abs(a-b) > eps
	}
	return false
}

// setPredicate turns an interval, union or finite set into a membership test.
func setPredicate(n *node) (memberFunc, []float64, bool) {
	ps, ok := pieces(n)
	if !ok {
		return nil, nil, false
	}
	type span struct {
		lo, hi float64
		lc, rc bool
	}
	spans := make([]span, len(ps))
	var consts []float64
	for i, p := range ps {
		lo, hi := realValue(p.lo), realValue(p.hi)
		if math.IsNaN(lo) || math.IsNaN(hi) {
			return nil, nil, false
		}
		spans[i] = span{lo, hi, p.lc, p.rc}
		consts = append(consts, lo, hi)
	}
	fn := func(t float64) (bool, bool) {
		for _, s := range spans {
			loOK := holds(s.lo, "<", t) || s.lc && holds(s.lo, "=", t)
			hiOK := holds(t, "<", s.hi) || s.rc && holds(t, "=", s.hi)
			if loOK && hiOK {
				return true, true
			}
		}
		return false, true
	}
	return fn, consts, true
}

func (c *comparer) relationVsSet(rel, set *node) bool {
	fr, cr, ok := relationPredicate(rel)
	if !ok {
		return false
	}
	fs, cs, ok := setPredicate(set)
	if !ok {
		return false
	}
	return c.samePoints(fr, fs, append(cr, cs...))
}

// probePoints are tried in every membership comparison besides the boundaries.
var probePoints = []float64{-1000, -50, -10, -3.7, -1.3, -0.4, 0, 0.45, 1.2, 2.9, 6.1, 17, 80, 1000}

// samePoints compares two membership tests at the boundaries (and just beside them),
// between and beyond them, and at fixed probe points.
func (c *comparer) samePoints(a, b memberFunc, consts []float64) bool {
	var finite []float64
	for _, v := range consts {
		if !math.IsInf(v, 0) {
			finite = append(finite, v)
		}
	}
	sort.Float64s(finite)
	pts := append([]float64(nil), probePoints...)
	for i, v := range finite {
		d := 1e-6 * math.Max(1, math.Abs(v))
		pts = append(pts, v, v-d, v+d, v-1, v+1)
		if i > 0 {
			pts = append(pts, (v+finite[i-1])/2)
		}
	}
	if !c.spend(len(pts) / 8) {
		return false
	}
	valid := 0
	for _, t := range pts {
		ia, oka := a(t)
		ib, okb := b(t)
		if !oka || !okb {
			continue
		}
		if ia != ib {
			return false
		}
		valid++
	}
	return valid >= minValidPoints
}
