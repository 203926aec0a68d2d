package lte

import "math"

// GroupStats counts the groups of a step by how many of their samples passed.
type GroupStats struct {
	NonePass, SomePass, AllPass int
}

// Classify returns how many rewards of a group are positive and the group's kind.
func Classify(rewards []float64) (passed int, stats GroupStats) {
	for _, r := range rewards {
		if r > 0 {
			passed++
		}
	}
	switch {
	case passed == 0:
		stats.NonePass = 1
	case passed == len(rewards):
		stats.AllPass = 1
	default:
		stats.SomePass = 1
	}
	return passed, stats
}

// Add accumulates counts.
func (s *GroupStats) Add(o GroupStats) {
	s.NonePass += o.NonePass
	s.SomePass += o.SomePass
	s.AllPass += o.AllPass
}

// GroupAdvantages returns GRPO's advantages for one group of rewards:
// (r - mean) / (std + 1e-6) with the unbiased standard deviation (as torch.std computes it),
// or r - mean when scaleByStd is false (Dr. GRPO). zeroVariance reports a group whose rewards
// are all equal, whose advantages are all zero.
func GroupAdvantages(rewards []float64, scaleByStd bool) (adv []float64, zeroVariance bool) {
	n := float64(len(rewards))
	adv = make([]float64, len(rewards))
	if len(rewards) == 0 {
		return adv, true
	}
	var mean float64
	for _, r := range rewards {
		mean += r
	}
	mean /= n
	var ss float64
	for _, r := range rewards {
		ss += (r - mean) * (r - mean)
	}
	zeroVariance = ss == 0
	std := 0.0
	if len(rewards) > 1 {
		std = math.Sqrt(ss / (n - 1))
	}
	for i, r := range rewards {
		adv[i] = r - mean
		if scaleByStd {
			adv[i] /= std + 1e-6
		}
	}
	return adv, zeroVariance
}
