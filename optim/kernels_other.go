//go:build !amd64

package optim

// adamWVector handles nothing here: the plain Go kernel does all the work.
func adamWVector(p, m, v, g []float32, c *adamCoeffs) int { return 0 }

// sumSquaresVector handles nothing here: the plain Go kernel does all the work.
func sumSquaresVector(s []float32) (float64, bool) { return 0, false }
