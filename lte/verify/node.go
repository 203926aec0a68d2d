package verify

import (
	"math/big"
	"sort"
	"strings"
)

// nodeKind is the type of an expression-tree node.
type nodeKind uint8

const (
	nNum      nodeKind = iota // exact rational num; dec marks a decimal literal (compared with tolerance)
	nSym                      // variable called name
	nConst                    // name: "pi", "e", "i" or "inf"
	nAdd                      // sum of kids
	nMul                      // product of kids
	nPow                      // kids[0] ^ kids[1]
	nFunc                     // name(kids...)
	nPM                       // kids[0] ± kids[1] (name "pm" or "mp"); kids[0] nil for a leading ±
	nTuple                    // ordered kids; paren marks round brackets
	nSet                      // unordered kids written as a set
	nList                     // unordered kids written as a bare list: a, b, c
	nInterval                 // kids[0] to kids[1]; lc/rc mark closed ends
	nUnion                    // union of kids (intervals, sets, tuples)
	nRel                      // chain kids[0] ops[0] kids[1] ops[1] kids[2] ...
	nMatrix                   // rows x cols kids, row-major
	nBased                    // integer written in another base, canonical "digits_base" in name
)

// node is an expression tree. Nodes are built by the parser and never changed afterwards,
// so they can be shared between the variants made by ± expansion.
type node struct {
	kind       nodeKind
	name       string
	num        *big.Rat
	f          float64 // num as float64 (±Inf when out of range)
	ulp        float64 // for a decimal literal: one unit in its last written digit
	sig        int     // for a decimal literal: its number of significant digits
	dec        bool
	lit        bool // an integer written as a plain literal (mixed-number detection)
	paren      bool
	lc, rc     bool
	rows, cols int
	ops        []string
	kids       []*node

	// Memo of exact: trees belong to one verification, so this needs no locking.
	exactDone bool
	exactOK   bool
	exactVal  *big.Rat
}

// size counts the nodes of a tree.
func size(n *node) int {
	count := 0
	walk(n, func(*node) bool { count++; return true })
	return count
}

func numNode(r *big.Rat, dec bool) *node {
	f, _ := r.Float64()
	return &node{kind: nNum, num: r, f: f, dec: dec}
}

func intNode(v int64) *node { return numNode(new(big.Rat).SetInt64(v), false) }

func ratNode(a, b int64) *node { return numNode(big.NewRat(a, b), false) }

func symNode(name string) *node { return &node{kind: nSym, name: name} }

func constNode(name string) *node { return &node{kind: nConst, name: name} }

func funcNode(name string, args ...*node) *node { return &node{kind: nFunc, name: name, kids: args} }

// add builds a flattened sum.
func add(a, b *node) *node {
	var kids []*node
	for _, n := range []*node{a, b} {
		if n.kind == nAdd {
			kids = append(kids, n.kids...)
		} else {
			kids = append(kids, n)
		}
	}
	return &node{kind: nAdd, kids: kids}
}

// mul builds a flattened product.
func mul(a, b *node) *node {
	var kids []*node
	for _, n := range []*node{a, b} {
		if n.kind == nMul {
			kids = append(kids, n.kids...)
		} else {
			kids = append(kids, n)
		}
	}
	return &node{kind: nMul, kids: kids}
}

func neg(a *node) *node {
	if a.kind == nNum {
		n := numNode(new(big.Rat).Neg(a.num), a.dec)
		n.ulp, n.sig = a.ulp, a.sig
		return n
	}
	return mul(intNode(-1), a)
}

func sub(a, b *node) *node { return add(a, neg(b)) }

func pow(a, b *node) *node { return &node{kind: nPow, kids: []*node{a, b}} }

func div(a, b *node) *node { return mul(a, pow(b, intNode(-1))) }

// isNum reports whether n is the number v.
func isNum(n *node, v int64) bool {
	return n != nil && n.kind == nNum && n.num.IsInt() && n.num.Num().IsInt64() && n.num.Num().Int64() == v
}

// walk calls fn on n and every descendant until fn returns false.
func walk(n *node, fn func(*node) bool) bool {
	if n == nil {
		return true
	}
	if !fn(n) {
		return false
	}
	for _, k := range n.kids {
		if !walk(k, fn) {
			return false
		}
	}
	return true
}

// has reports whether some node of the tree satisfies pred.
func has(n *node, pred func(*node) bool) bool {
	return !walk(n, func(m *node) bool { return !pred(m) })
}

func hasDecimal(n *node) bool { return has(n, func(m *node) bool { return m.dec }) }

func hasPi(n *node) bool {
	return has(n, func(m *node) bool { return m.kind == nConst && m.name == "pi" })
}

// integerFunctions only make sense at integer arguments; expressions using them are sampled
// at integer points.
var integerFunctions = map[string]bool{"floor": true, "ceil": true, "fact": true, "binom": true, "gcd": true, "lcm": true, "mod": true}

func hasIntegerFunction(n *node) bool {
	return has(n, func(m *node) bool { return m.kind == nFunc && integerFunctions[m.name] })
}

// freeVars appends the sorted distinct variable names of the trees to dst.
func freeVars(trees ...*node) []string {
	var names []string
	for _, t := range trees {
		walk(t, func(m *node) bool {
			if m.kind == nSym {
				names = append(names, m.name)
			}
			return true
		})
	}
	sort.Strings(names)
	out := names[:0]
	for i, s := range names {
		if i == 0 || s != names[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// isCollection reports whether n is a tuple, set, list, interval, union or matrix.
func isCollection(n *node) bool {
	switch n.kind {
	case nTuple, nSet, nList, nInterval, nUnion, nMatrix:
		return true
	}
	return false
}

// key renders a tree as a canonical string, used to recognise identical sub-trees.
func (n *node) key() string {
	var b strings.Builder
	n.writeKey(&b)
	return b.String()
}

func (n *node) writeKey(b *strings.Builder) {
	if n == nil {
		b.WriteString("nil")
		return
	}
	switch n.kind {
	case nNum:
		b.WriteString(n.num.RatString())
		return
	case nSym, nConst, nBased:
		b.WriteString(n.name)
		return
	}
	b.WriteString([]string{"num", "sym", "const", "add", "mul", "pow", "fn", "pm", "tuple", "set", "list", "interval", "union", "rel", "matrix", "based"}[n.kind])
	b.WriteString(n.name)
	b.WriteByte('(')
	for i, k := range n.kids {
		if i > 0 {
			b.WriteByte(',')
			if n.kind == nRel {
				b.WriteString(n.ops[i-1])
			}
		}
		k.writeKey(b)
	}
	b.WriteByte(')')
}

// infinitySign reports whether n is +∞ (sign 1) or -∞ (sign -1); 0 otherwise.
func infinitySign(n *node) int {
	switch {
	case n.kind == nConst && n.name == "inf":
		return 1
	case n.kind == nMul && len(n.kids) == 2 && isNum(n.kids[0], -1):
		return -infinitySign(n.kids[1])
	}
	return 0
}
