package graph

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Dim is one dimension of a shape: a static size (Name == "") or a symbolic size named by Name.
//
// Symbolic names are small expressions over symbols: "seq", "batch*seq", "seq-1", "2*seq+3".
// The builder keeps them canonical, so two dims are equal exactly when their Dims are equal.
// A name starting with "?" is an anonymous size the builder could not infer; it equals only
// itself.
type Dim struct {
	Size int64
	Name string
}

// D returns a static dim of size n.
func D(n int64) Dim { return Dim{Size: n} }

// Sym returns a symbolic dim. Names should be identifiers ("batch", "seq"); a name that is an
// expression is put in canonical form (Sym("seq*batch") == Sym("batch*seq")).
func Sym(name string) Dim { return parseDim(Dim{Name: name}).dim() }

// IsStatic reports whether d has a static size.
func (d Dim) IsStatic() bool { return d.Name == "" }

func (d Dim) String() string {
	if d.IsStatic() {
		return strconv.FormatInt(d.Size, 10)
	}
	return d.Name
}

// isOne reports whether d is the static size 1.
func (d Dim) isOne() bool { return d.IsStatic() && d.Size == 1 }

var unknownCounter atomic.Int64

// unknownDim returns a fresh anonymous dim.
func unknownDim() Dim { return Dim{Name: fmt.Sprintf("?%d", unknownCounter.Add(1))} }

// dimExpr is coef*prod(atoms)+off; a static size n is {atoms: nil, off: n}.
type dimExpr struct {
	coef  int64
	atoms []string // sorted, repeats allowed
	off   int64
}

func parseDim(d Dim) dimExpr {
	if d.IsStatic() {
		return dimExpr{off: d.Size}
	}
	e := dimExpr{coef: 1}
	head := d.Name
	if i := strings.LastIndexAny(head, "+-"); i > 0 {
		if n, err := strconv.ParseInt(head[i+1:], 10, 64); err == nil && isDigits(head[i+1:]) {
			e.off = n
			if head[i] == '-' {
				e.off = -n
			}
			head = head[:i]
		}
	}
	for _, part := range strings.Split(head, "*") {
		if n, err := strconv.ParseInt(part, 10, 64); err == nil && isDigits(part) {
			e.coef *= n
			continue
		}
		e.atoms = append(e.atoms, part)
	}
	slices.Sort(e.atoms)
	if len(e.atoms) == 0 {
		return dimExpr{off: e.coef + e.off}
	}
	if e.coef == 0 {
		return dimExpr{off: e.off}
	}
	return e
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// valid reports whether e can be written as a Dim.
func (e dimExpr) valid() bool { return len(e.atoms) == 0 || e.coef > 0 }

// dim writes e as a Dim; an expression that has no Dim form becomes a fresh unknown.
func (e dimExpr) dim() Dim {
	if len(e.atoms) == 0 {
		return D(e.off)
	}
	if !e.valid() {
		return unknownDim()
	}
	var b strings.Builder
	if e.coef != 1 {
		fmt.Fprintf(&b, "%d*", e.coef)
	}
	b.WriteString(strings.Join(e.atoms, "*"))
	if e.off > 0 {
		fmt.Fprintf(&b, "+%d", e.off)
	} else if e.off < 0 {
		fmt.Fprintf(&b, "%d", e.off)
	}
	return Dim{Name: b.String()}
}

func canonical(d Dim) Dim {
	if d.IsStatic() {
		return d
	}
	return parseDim(d).dim()
}

func sameAtoms(a, b []string) bool { return slices.Equal(a, b) }

// dimAdd returns a+b, or a fresh unknown when the sum has no Dim form.
func dimAdd(a, b Dim) Dim { return addExprs(parseDim(a), parseDim(b)) }

// dimSub returns a-b, or a fresh unknown when the difference has no Dim form.
func dimSub(a, b Dim) Dim {
	y := parseDim(b)
	y.coef, y.off = -y.coef, -y.off
	return addExprs(parseDim(a), y)
}

// addExprs returns x+y as a Dim; a result with a non-positive coefficient on its atoms (a
// constant minus a symbol, say) has no Dim form and is a fresh unknown.
func addExprs(x, y dimExpr) Dim {
	switch {
	case len(y.atoms) == 0:
		x.off += y.off
		return x.dim()
	case len(x.atoms) == 0:
		y.off += x.off
		return y.dim()
	case sameAtoms(x.atoms, y.atoms):
		x.coef += y.coef
		x.off += y.off
		if x.coef == 0 {
			return D(x.off)
		}
		return x.dim()
	}
	return unknownDim()
}

// dimMul returns a*b, or a fresh unknown when the product has no Dim form.
func dimMul(a, b Dim) Dim {
	x, y := parseDim(a), parseDim(b)
	switch {
	case len(x.atoms) == 0 && len(y.atoms) == 0:
		return D(x.off * y.off)
	case len(y.atoms) == 0:
		if y.off == 0 {
			return D(0)
		}
		x.coef *= y.off
		x.off *= y.off
		return x.dim()
	case len(x.atoms) == 0:
		return dimMul(b, a)
	case x.off == 0 && y.off == 0:
		atoms := append(slices.Clone(x.atoms), y.atoms...)
		slices.Sort(atoms)
		return dimExpr{coef: x.coef * y.coef, atoms: atoms}.dim()
	}
	return unknownDim()
}

// dimDiv returns a/b when the quotient is exact at build time, else a fresh unknown.
func dimDiv(a, b Dim) Dim {
	x, y := parseDim(a), parseDim(b)
	if len(y.atoms) == 0 {
		switch {
		case y.off == 0:
			return unknownDim()
		case len(x.atoms) == 0:
			if x.off%y.off == 0 {
				return D(x.off / y.off)
			}
			return unknownDim()
		case x.coef%y.off == 0 && x.off%y.off == 0:
			x.coef /= y.off
			x.off /= y.off
			return x.dim()
		}
		return unknownDim()
	}
	if x.off != 0 || y.off != 0 || len(x.atoms) == 0 || x.coef%y.coef != 0 {
		return unknownDim()
	}
	rest := slices.Clone(x.atoms)
	for _, at := range y.atoms {
		i := slices.Index(rest, at)
		if i < 0 {
			return unknownDim()
		}
		rest = slices.Delete(rest, i, i+1)
	}
	if len(rest) == 0 {
		return D(x.coef / y.coef)
	}
	return dimExpr{coef: x.coef / y.coef, atoms: rest}.dim()
}

// dimProduct multiplies dims.
func dimProduct(dims []Dim) Dim {
	p := D(1)
	for _, d := range dims {
		p = dimMul(p, d)
	}
	return p
}

// broadcastDim applies the broadcasting contract: equal dims, or one of them static 1.
func broadcastDim(a, b Dim) (Dim, bool) {
	switch {
	case a == b:
		return a, true
	case a.isOne():
		return b, true
	case b.isOne():
		return a, true
	}
	return Dim{}, false
}

// broadcastShapes broadcasts shapes numpy-style under the contract of broadcastDim.
func broadcastShapes(shapes ...[]Dim) ([]Dim, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]Dim, rank)
	for i := range out {
		out[i] = D(1)
	}
	for _, s := range shapes {
		lead := rank - len(s)
		for i, d := range s {
			b, ok := broadcastDim(out[lead+i], d)
			if !ok {
				return nil, fmt.Errorf("shapes %s do not broadcast: dim %s vs %s (dims broadcast only when equal or one is 1)", shapesString(shapes), out[lead+i], d)
			}
			out[lead+i] = b
		}
	}
	return out, nil
}

func shapeString(s []Dim) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func shapesString(shapes [][]Dim) string {
	parts := make([]string, len(shapes))
	for i, s := range shapes {
		parts[i] = shapeString(s)
	}
	return strings.Join(parts, " ")
}

func staticShape(s []Dim) ([]int64, bool) {
	out := make([]int64, len(s))
	for i, d := range s {
		if !d.IsStatic() {
			return nil, false
		}
		out[i] = d.Size
	}
	return out, true
}

func staticDims(ns []int64) []Dim {
	out := make([]Dim, len(ns))
	for i, n := range ns {
		out[i] = D(n)
	}
	return out
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(a), nil
}
