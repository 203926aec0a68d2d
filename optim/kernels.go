package optim

import "math"

// The kernels below follow gonum's floats conventions: destinations come first, every slice
// argument must have the same length (a kernel panics otherwise; the callers check layouts
// and return errors before reaching this file), and a kernel touches nothing but its
// arguments. On amd64 with AVX2 the two hot kernels run eight lanes at a time in assembly
// (kernels_amd64.s) with the same operations in the same order, so both paths give the same
// bits; the plain Go loops below are the reference and cover the tails.

// adamCoeffs are the per-step scalars of one AdamW update, computed in float64 once per step.
type adamCoeffs struct {
	// decay multiplies the parameter before the Adam step: 1 - lr*weightDecay for tensors
	// that decay, exactly 1 for the rest.
	decay float64
	// beta1, oneMinusBeta1, beta2 and oneMinusBeta2 are the moment rates.
	beta1, oneMinusBeta1, beta2, oneMinusBeta2 float32
	// stepSize is lr*sqrt(1-beta2^t)/(1-beta1^t) and eps is eps*sqrt(1-beta2^t): torch's
	// lr/bc1 * m/(sqrt(v)/sqrt(bc2) + eps) with sqrt(bc2) moved out of the denominator,
	// which saves a multiply per element and changes only the last bit.
	stepSize, eps float32
	// gradScale multiplies every gradient element before use: a fused clipping coefficient,
	// 1 when no clipping applies.
	gradScale float32
}

// adamW applies one AdamW step in place: for each i, with gi = g[i]*c.gradScale,
//
//	m[i] = beta1*m[i] + (1-beta1)*gi
//	v[i] = beta2*v[i] + (1-beta2)*gi*gi
//	p[i] = p[i]*decay - stepSize*m[i]/(sqrt(v[i]) + eps)
//
// It reads p, m, v and g once and writes p, m and v once: 28 bytes per element. The moments
// use float32 arithmetic (they are stored in float32); the parameter is combined in float64
// and rounded once, so a parameter much larger than its update loses at most half an ulp.
// It panics if the lengths differ.
func adamW(p, m, v, g []float32, c adamCoeffs) {
	if len(m) != len(p) || len(v) != len(p) || len(g) != len(p) {
		panic("optim: adamW: slice lengths differ")
	}
	done := adamWVector(p, m, v, g, &c)
	adamWGeneric(p[done:], m[done:], v[done:], g[done:], c)
}

// adamWGeneric is adamW in plain Go. The explicit conversions round every product, which
// forbids the compiler from fusing multiply-adds and keeps it bit-identical to the assembly.
func adamWGeneric(p, m, v, g []float32, c adamCoeffs) {
	m, v, g = m[:len(p)], v[:len(p)], g[:len(p)]
	for i := range p {
		gi := g[i] * c.gradScale
		mi := float32(c.beta1*m[i]) + float32(c.oneMinusBeta1*gi)
		vi := float32(c.beta2*v[i]) + float32(float32(c.oneMinusBeta2*gi)*gi)
		m[i] = mi
		v[i] = vi
		step := float32(c.stepSize*mi) / (float32(math.Sqrt(float64(vi))) + c.eps)
		p[i] = float32(float64(float64(p[i])*c.decay) - float64(step))
	}
}

// scale multiplies every element of dst by alpha in place.
func scale(dst []float32, alpha float32) {
	for i := range dst {
		dst[i] *= alpha
	}
}

// sumSquares returns the sum of s[i]*s[i] in float64. The order of additions depends only on
// len(s): sixteen partial sums, one per residue of i mod 16 over the first len(s)&^15
// elements, combined as a fixed tree, then the tail in order.
func sumSquares(s []float32) float64 {
	body := len(s) &^ 15
	sum, ok := sumSquaresVector(s[:body])
	if !ok {
		sum = sumSquares16(s[:body])
	}
	for _, x := range s[body:] {
		sum += float64(x) * float64(x)
	}
	return sum
}

// sumSquares16 is the plain Go body of sumSquares; len(s) must be a multiple of 16.
func sumSquares16(s []float32) float64 {
	var a [16]float64
	for i := 0; i+16 <= len(s); i += 16 {
		for j := range a {
			x := float64(s[i+j])
			a[j] += float64(x * x)
		}
	}
	var lanes [4]float64
	for j := range lanes {
		lanes[j] = (a[j] + a[j+4]) + (a[j+8] + a[j+12])
	}
	return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
}
