package verify

import (
	"math"
	"math/big"
	"math/cmplx"
)

// exact evaluates a tree without variables to an exact rational. ok is false when the value
// is irrational, complex, undefined, or would exceed the size limits (the caller then falls
// back to numeric evaluation). The result may share memory with the tree: never modify it.
func exact(n *node) (*big.Rat, bool) {
	if !n.exactDone {
		n.exactVal, n.exactOK = exactOnce(n)
		n.exactDone = true
	}
	return n.exactVal, n.exactOK
}

func exactOnce(n *node) (*big.Rat, bool) {
	switch n.kind {
	case nNum:
		return n.num, true
	case nAdd:
		sum := new(big.Rat)
		for _, k := range n.kids {
			v, ok := exact(k)
			if !ok {
				return nil, false
			}
			sum.Add(sum, v)
		}
		return sum, ratFits(sum)
	case nMul:
		prod := new(big.Rat).SetInt64(1)
		for _, k := range n.kids {
			v, ok := exact(k)
			if !ok {
				return nil, false
			}
			prod.Mul(prod, v)
			if !ratFits(prod) {
				return nil, false
			}
		}
		return prod, true
	case nPow:
		b, ok := exact(n.kids[0])
		if !ok {
			return nil, false
		}
		e, ok := exact(n.kids[1])
		if !ok {
			return nil, false
		}
		return powRatExact(b, e)
	case nFunc:
		return exactFunc(n)
	}
	return nil, false
}

// ratFits reports whether r is small enough to keep computing with exactly.
func ratFits(r *big.Rat) bool {
	return r.Num().BitLen()+r.Denom().BitLen() <= maxExactBits
}

// powRatExact computes b^e for an integer e, or for e = p/q when b has an exact q-th root.
func powRatExact(b, e *big.Rat) (*big.Rat, bool) {
	if !e.IsInt() {
		q := e.Denom()
		if !q.IsInt64() || q.Int64() > 64 {
			return nil, false
		}
		root, ok := rootRat(b, int(q.Int64()))
		if !ok {
			return nil, false
		}
		return powRatExact(root, new(big.Rat).SetInt(e.Num()))
	}
	k := e.Num()
	if !k.IsInt64() || k.Int64() > maxPowExponent || k.Int64() < -maxPowExponent {
		return nil, false
	}
	exp := k.Int64()
	if b.Sign() == 0 {
		if exp < 0 {
			return nil, false
		}
		if exp == 0 {
			return new(big.Rat).SetInt64(1), true
		}
		return new(big.Rat), true
	}
	abs := exp
	if abs < 0 {
		abs = -abs
	}
	if int64(b.Num().BitLen()+b.Denom().BitLen())*abs > maxExactBits {
		return nil, false
	}
	e64 := big.NewInt(abs)
	num := new(big.Int).Exp(b.Num(), e64, nil)
	den := new(big.Int).Exp(b.Denom(), e64, nil)
	if exp < 0 {
		num, den = den, num
	}
	return new(big.Rat).SetFrac(num, den), true
}

// rootRat returns the exact q-th root of r, if it is rational (negative r only for odd q).
func rootRat(r *big.Rat, q int) (*big.Rat, bool) {
	if r.Sign() < 0 {
		if q%2 == 0 {
			return nil, false
		}
		root, ok := rootRat(new(big.Rat).Neg(r), q)
		if !ok {
			return nil, false
		}
		return root.Neg(root), true
	}
	num, ok := rootInt(r.Num(), q)
	if !ok {
		return nil, false
	}
	den, ok := rootInt(r.Denom(), q)
	if !ok {
		return nil, false
	}
	return new(big.Rat).SetFrac(num, den), true
}

// rootInt returns the exact q-th root of a non-negative integer, if there is one.
func rootInt(x *big.Int, q int) (*big.Int, bool) {
	if q == 1 {
		return x, true
	}
	if x.BitLen() > 4096 || q > 2 && x.BitLen() > 1024 {
		return nil, false
	}
	var root *big.Int
	if q == 2 {
		root = new(big.Int).Sqrt(x)
	} else {
		lo, hi := big.NewInt(0), new(big.Int).Lsh(big.NewInt(1), uint(x.BitLen()/q+1))
		qq := big.NewInt(int64(q))
		for lo.Cmp(hi) < 0 {
			mid := new(big.Int).Add(lo, hi)
			mid.Add(mid, big.NewInt(1)).Rsh(mid, 1)
			if new(big.Int).Exp(mid, qq, nil).Cmp(x) <= 0 {
				lo = mid
			} else {
				hi = mid.Sub(mid, big.NewInt(1))
			}
		}
		root = lo
	}
	if new(big.Int).Exp(root, big.NewInt(int64(q)), nil).Cmp(x) != 0 {
		return nil, false
	}
	return root, true
}

// exactInt returns the value of n as an integer, if it is one.
func exactInt(n *node) (*big.Int, bool) {
	v, ok := exact(n)
	if !ok || !v.IsInt() {
		return nil, false
	}
	return v.Num(), true
}

func exactFunc(n *node) (*big.Rat, bool) {
	args := make([]*big.Rat, len(n.kids))
	for i, k := range n.kids {
		v, ok := exact(k)
		if !ok {
			return nil, false
		}
		args[i] = v
	}
	if len(args) == 0 {
		return nil, false
	}
	x := args[0]
	switch n.name {
	case "sqrt":
		return rootRat(x, 2)
	case "root":
		if !args[1].IsInt() || !args[1].Num().IsInt64() {
			return nil, false
		}
		q := args[1].Num().Int64()
		if q < 1 || q > 64 {
			return nil, false
		}
		return rootRat(x, int(q))
	case "abs":
		return new(big.Rat).Abs(x), true
	case "floor", "ceil":
		q, m := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int))
		if n.name == "ceil" && m.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
		return new(big.Rat).SetInt(q), true
	case "fact":
		if !x.IsInt() || x.Sign() < 0 || x.Num().Cmp(big.NewInt(maxFactorial)) > 0 {
			return nil, false
		}
		return new(big.Rat).SetInt(new(big.Int).MulRange(1, x.Num().Int64())), true
	case "binom":
		if len(args) != 2 || !x.IsInt() || !args[1].IsInt() || x.Sign() < 0 || x.Num().Cmp(big.NewInt(maxBinomialN)) > 0 {
			return nil, false
		}
		nn, k := x.Num().Int64(), args[1].Num()
		if !k.IsInt64() || k.Int64() < 0 || k.Int64() > nn {
			return new(big.Rat), true
		}
		return new(big.Rat).SetInt(new(big.Int).Binomial(nn, k.Int64())), true
	case "gcd", "lcm":
		acc := new(big.Int)
		for i, a := range args {
			if !a.IsInt() {
				return nil, false
			}
			v := new(big.Int).Abs(a.Num())
			switch {
			case i == 0:
				acc.Set(v)
			case n.name == "gcd":
				acc.GCD(nil, nil, acc, v)
			case acc.Sign() != 0 && v.Sign() != 0:
				g := new(big.Int).GCD(nil, nil, acc, v)
				acc.Mul(acc, v).Quo(acc, g)
				if acc.BitLen() > maxExactBits {
					return nil, false
				}
			default:
				acc.SetInt64(0)
			}
		}
		return new(big.Rat).SetInt(acc), true
	case "max", "min":
		best := x
		for _, a := range args[1:] {
			if c := a.Cmp(best); n.name == "max" && c > 0 || n.name == "min" && c < 0 {
				best = a
			}
		}
		return best, true
	}
	return nil, false
}

// point binds variable names (sorted) to values for numeric evaluation.
type point struct {
	names []string
	vals  []complex128
}

func (pt *point) lookup(name string) (complex128, bool) {
	for i, n := range pt.names {
		if n == name {
			return pt.vals[i], true
		}
	}
	return 0, false
}

var nan = cmplx.NaN()

// inRange returns v, or NaN when float64 could not hold the value v stands for: v is 0 although
// the value is not (nonzero: all factors are nonzero), or v is infinite although every input is
// finite. An underflow to 0 would otherwise equal 0 (and any other underflow) within the
// absolute tolerance, and an overflow would equal any other; NaN equals nothing.
func inRange(v complex128, nonzero, finiteInputs bool) complex128 {
	if (nonzero && v == 0) || (finiteInputs && !isFinite(v)) {
		return nan
	}
	return v
}

func isFinite(c complex128) bool {
	return !math.IsNaN(real(c)) && !math.IsNaN(imag(c)) && !math.IsInf(real(c), 0) && !math.IsInf(imag(c), 0)
}

func isReal(c complex128) bool { return imag(c) == 0 }

// evalNum evaluates a tree numerically at a point; NaN marks an undefined value.
func evalNum(n *node, pt *point) complex128 {
	switch n.kind {
	case nNum:
		return complex(n.f, 0)
	case nSym:
		if v, ok := pt.lookup(n.name); ok {
			return v
		}
		return nan
	case nConst:
		switch n.name {
		case "pi":
			return math.Pi
		case "e":
			return math.E
		case "i":
			return 1i
		case "inf":
			return complex(math.Inf(1), 0)
		}
	case nAdd:
		var s complex128
		for _, k := range n.kids {
			s += evalNum(k, pt)
		}
		return s
	case nMul:
		p := complex(1, 0)
		zero, finite := false, true
		for _, k := range n.kids {
			v := evalNum(k, pt)
			zero = zero || v == 0
			finite = finite && isFinite(v)
			if isReal(p) && isReal(v) {
				p = complex(real(p)*real(v), 0)
			} else {
				p *= v
			}
		}
		return inRange(p, !zero, finite)
	case nPow:
		b := evalNum(n.kids[0], pt)
		if r, ok := exact(n.kids[1]); ok {
			rf, _ := r.Float64()
			return inRange(powNum(b, r), b != 0, isFinite(b) && !math.IsInf(rf, 0))
		}
		e := evalNum(n.kids[1], pt)
		if isReal(b) && isReal(e) && real(b) >= 0 {
			return inRange(complex(math.Pow(real(b), real(e)), 0), b != 0, isFinite(b) && isFinite(e))
		}
		return inRange(cmplx.Pow(b, e), b != 0, isFinite(b) && isFinite(e))
	case nFunc:
		return evalFunc(n, pt)
	}
	return nan
}

// powNum raises b to an exact rational power, taking real odd roots of negative numbers.
func powNum(b complex128, r *big.Rat) complex128 {
	rf, _ := r.Float64()
	if b == 0 && rf < 0 {
		return nan
	}
	if isReal(b) {
		x := real(b)
		switch {
		case r.IsInt() || x >= 0:
			return complex(math.Pow(x, rf), 0)
		case r.Denom().Bit(0) == 1:
			v := math.Pow(-x, rf)
			if r.Num().Bit(0) == 1 {
				v = -v
			}
			return complex(v, 0)
		}
	}
	return cmplx.Pow(b, complex(rf, 0))
}

func evalFunc(n *node, pt *point) complex128 {
	args := make([]complex128, len(n.kids))
	for i, k := range n.kids {
		args[i] = evalNum(k, pt)
	}
	if len(args) == 0 {
		return nan
	}
	x := args[0]
	rx := real(x)
	real1 := isReal(x)
	switch n.name {
	case "sin":
		return cmplx.Sin(x)
	case "cos":
		return cmplx.Cos(x)
	case "tan":
		return cmplx.Tan(x)
	case "sec":
		return 1 / cmplx.Cos(x)
	case "csc":
		return 1 / cmplx.Sin(x)
	case "cot":
		return cmplx.Cos(x) / cmplx.Sin(x)
	case "asin":
		if real1 && rx >= -1 && rx <= 1 {
			return complex(math.Asin(rx), 0)
		}
		return cmplx.Asin(x)
	case "acos":
		if real1 && rx >= -1 && rx <= 1 {
			return complex(math.Acos(rx), 0)
		}
		return cmplx.Acos(x)
	case "atan":
		if real1 {
			return complex(math.Atan(rx), 0)
		}
		return cmplx.Atan(x)
	case "asec":
		return cmplx.Acos(1 / x)
	case "acsc":
		return cmplx.Asin(1 / x)
	case "acot":
		if real1 {
			return complex(math.Atan(1/rx), 0)
		}
		return cmplx.Atan(1 / x)
	case "sinh":
		return cmplx.Sinh(x)
	case "cosh":
		return cmplx.Cosh(x)
	case "tanh":
		return cmplx.Tanh(x)
	case "ln", "log":
		return logNum(x)
	case "logb":
		return logNum(x) / logNum(args[1])
	case "exp":
		if real1 {
			return inRange(complex(math.Exp(rx), 0), true, isFinite(x))
		}
		return inRange(cmplx.Exp(x), true, isFinite(x))
	case "sqrt":
		if real1 && rx >= 0 {
			return complex(math.Sqrt(rx), 0)
		}
		return cmplx.Sqrt(x)
	case "root":
		if q, ok := exactInt(n.kids[1]); ok && q.IsInt64() && q.Int64() > 0 {
			return powNum(x, big.NewRat(1, q.Int64()))
		}
		return cmplx.Pow(x, 1/args[1])
	case "abs":
		return complex(cmplx.Abs(x), 0)
	}
	// The rest are defined on reals only.
	for _, a := range args {
		if !isReal(a) {
			return nan
		}
	}
	switch n.name {
	case "floor":
		return complex(math.Floor(rx), 0)
	case "ceil":
		return complex(math.Ceil(rx), 0)
	case "fact":
		return complex(gammaInt(rx+1), 0)
	case "binom":
		k := real(args[1])
		return complex(gammaInt(rx+1)/(gammaInt(k+1)*gammaInt(rx-k+1)), 0)
	case "gcd", "lcm":
		return gcdLcmNum(n.name, args)
	case "max", "min":
		best := rx
		for _, a := range args[1:] {
			if v := real(a); n.name == "max" && v > best || n.name == "min" && v < best {
				best = v
			}
		}
		return complex(best, 0)
	}
	return nan
}

func logNum(x complex128) complex128 {
	if isReal(x) && real(x) > 0 {
		return complex(math.Log(real(x)), 0)
	}
	return cmplx.Log(x)
}

// gammaInt is Γ(x), exact for small positive integers.
func gammaInt(x float64) float64 {
	if x == math.Trunc(x) && x >= 1 && x <= 171 {
		p := 1.0
		for i := 2.0; i < x; i++ {
			p *= i
		}
		return p
	}
	return math.Gamma(x)
}

func gcdLcmNum(name string, args []complex128) complex128 {
	var acc int64
	for i, a := range args {
		v := real(a)
		if v != math.Trunc(v) || math.Abs(v) > 1<<52 {
			return nan
		}
		x := int64(math.Abs(v))
		switch {
		case i == 0:
			acc = x
		case name == "gcd":
			for x != 0 {
				acc, x = x, acc%x
			}
		case acc != 0 && x != 0:
			g, y := acc, x
			for y != 0 {
				g, y = y, g%y
			}
			acc = acc / g * x
		default:
			acc = 0
		}
	}
	return complex(float64(acc), 0)
}
