package optim

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; tests turn it off to compare with plain Go.
var useAVX2 = cpu.X86.HasAVX2

// adamWVector runs adamW over the longest prefix whose length is a multiple of 8 and
// returns that length, or 0 without AVX2.
func adamWVector(p, m, v, g []float32, c *adamCoeffs) int {
	n := len(p) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	adamWAVX2(p[:n], m[:n], v[:n], g[:n], c)
	return n
}

// sumSquaresVector returns sumSquares16(s) and true, or false without AVX2 or for an empty s.
// len(s) must be a multiple of 16.
func sumSquaresVector(s []float32) (float64, bool) {
	if !useAVX2 || len(s) == 0 {
		return 0, false
	}
	return sumSquaresAVX2(s), true
}

// adamWAVX2 is adamWGeneric eight lanes at a time; len(p) must be a multiple of 8 and every
// slice as long as p.
//
//go:noescape
func adamWAVX2(p, m, v, g []float32, c *adamCoeffs)

// sumSquaresAVX2 is sumSquares16 with four 4-lane float64 accumulators; len(s) must be a
// positive multiple of 16.
//
//go:noescape
func sumSquaresAVX2(s []float32) float64
