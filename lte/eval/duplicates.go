package eval

import "fmt"

// CheckDuplicates finds samples recorded twice, as in a file concatenated with itself.
// When the samples carry indexes (sample numbers within a problem), two samples of one
// problem with the same index are an error, since Pass@k would count them twice. Without
// indexes (every index 0), identical records cannot be told from identical responses of a
// greedy model: their count is returned for a warning instead.
func CheckDuplicates(samples []Sample) (identical int, err error) {
	indexed := false
	for _, s := range samples {
		if s.Index != 0 {
			indexed = true
			break
		}
	}
	type key struct {
		benchmark, id string
		index         int
		response      string
	}
	seen := make(map[key]int, len(samples))
	for i, s := range samples {
		k := key{s.Benchmark, s.ID, s.Index, ""}
		if !indexed {
			k.response = s.Response
		}
		if j, dup := seen[k]; dup {
			if indexed {
				return 0, fmt.Errorf("sample %d of problem %s/%s appears twice (records %d and %d): the file repeats samples, perhaps concatenated twice; keep one copy of each", s.Index, s.Benchmark, s.ID, j+1, i+1)
			}
			identical++
			continue
		}
		seen[k] = i
	}
	return identical, nil
}
