package lte

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// BufferMode says which recorded mistakes a hint may list.
type BufferMode struct {
	Kind   string // "step" (current step only, the paper's), "window" (last Window steps) or "all"
	Window int
}

// ParseBufferMode reads "step", "all" or "window=N".
func ParseBufferMode(s string) (BufferMode, error) {
	switch {
	case s == "step" || s == "all":
		return BufferMode{Kind: s}, nil
	case strings.HasPrefix(s, "window="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "window="))
		if err != nil || n < 1 {
			return BufferMode{}, fmt.Errorf("buffer mode %q: window=N needs N >= 1", s)
		}
		return BufferMode{Kind: "window", Window: n}, nil
	}
	return BufferMode{}, fmt.Errorf("buffer mode %q: want step, window=N or all", s)
}

func (m BufferMode) String() string {
	if m.Kind == "window" {
		return fmt.Sprintf("window=%d", m.Window)
	}
	return m.Kind
}

// visible reports whether a mistake last seen at lastSeen may be listed at step.
func (m BufferMode) visible(lastSeen, step int) bool {
	switch m.Kind {
	case "step":
		return lastSeen == step
	case "window":
		return step-lastSeen < m.Window
	}
	return true
}

// Mistake is one distinct wrong final answer of a problem.
type Mistake struct {
	Answer string `json:"answer"` // as first written by the model
	Count  int    `json:"count"`  // times seen
	Steps  []int  `json:"steps"`  // steps it was seen at, most recent last (at most maxStepsKept)
	First  int    `json:"first"`  // step first seen
}

// Last is the step the mistake was last seen at.
func (m *Mistake) Last() int { return m.Steps[len(m.Steps)-1] }

const maxStepsKept = 32

// ReplayBuffer is the trial-and-error replay buffer: for each training problem, its distinct
// wrong final answers across steps and epochs, deduplicated by an equivalence (the verifier's),
// bounded per problem: a mistake seen at the step being recorded is never evicted (so the
// step's hint can list it), and of the older ones the most frequent and, among equals, the
// most recent are kept.
type ReplayBuffer struct {
	Mode          BufferMode
	MaxPerProblem int
	Equal         func(a, b string) bool

	problems map[string][]*Mistake
}

// NewReplayBuffer makes an empty buffer. equal decides when two answers are the same mistake.
func NewReplayBuffer(mode BufferMode, maxPerProblem int, equal func(a, b string) bool) *ReplayBuffer {
	if maxPerProblem < 1 {
		maxPerProblem = 1
	}
	return &ReplayBuffer{Mode: mode, MaxPerProblem: maxPerProblem, Equal: equal, problems: map[string][]*Mistake{}}
}

// Record adds the wrong answers a problem's responses gave at step (empty answers ignored).
func (b *ReplayBuffer) Record(problem string, step int, answers []string) {
	list := b.problems[problem]
	for _, a := range answers {
		if strings.TrimSpace(a) == "" {
			continue
		}
		var found *Mistake
		for _, m := range list {
			if m.Answer == a || b.Equal(m.Answer, a) {
				found = m
				break
			}
		}
		if found == nil {
			found = &Mistake{Answer: a, First: step}
			list = append(list, found)
		}
		found.Count++
		if len(found.Steps) == 0 || found.Last() != step {
			found.Steps = append(found.Steps, step)
			if len(found.Steps) > maxStepsKept {
				found.Steps = found.Steps[len(found.Steps)-maxStepsKept:]
			}
		}
	}
	if len(list) > b.MaxPerProblem {
		// Keep every mistake seen at this step (the hint about to be built lists them), then
		// the most frequent of the others; among equals, the most recently seen. When this
		// step alone brings more than the bound, the list holds them all until the next step.
		sort.SliceStable(list, func(i, j int) bool {
			if ni, nj := list[i].Last() == step, list[j].Last() == step; ni != nj {
				return ni
			}
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Last() > list[j].Last()
		})
		keep := b.MaxPerProblem
		for keep < len(list) && list[keep].Last() == step {
			keep++
		}
		list = list[:keep]
	}
	if len(list) > 0 {
		b.problems[problem] = list
	}
}

// Mistakes returns the distinct wrong answers of a problem that the mode lets a hint at step
// list, most frequent first, then most recent, then first seen; at most limit (0: all).
func (b *ReplayBuffer) Mistakes(problem string, step, limit int) []string {
	var vis []*Mistake
	for _, m := range b.problems[problem] {
		if b.Mode.visible(m.Last(), step) {
			vis = append(vis, m)
		}
	}
	sort.SliceStable(vis, func(i, j int) bool {
		if vis[i].Count != vis[j].Count {
			return vis[i].Count > vis[j].Count
		}
		if vis[i].Last() != vis[j].Last() {
			return vis[i].Last() > vis[j].Last()
		}
		return vis[i].First < vis[j].First
	})
	if limit > 0 && len(vis) > limit {
		vis = vis[:limit]
	}
	out := make([]string, len(vis))
	for i, m := range vis {
		out[i] = m.Answer
	}
	return out
}

// Problems is the number of problems with at least one recorded mistake; Answers the number
// of distinct mistakes held.
func (b *ReplayBuffer) Problems() int { return len(b.problems) }

// Answers counts the mistakes held over all problems.
func (b *ReplayBuffer) Answers() int {
	n := 0
	for _, l := range b.problems {
		n += len(l)
	}
	return n
}

// MarshalJSON saves the buffer's contents (mode and bound are run settings, saved with them).
func (b *ReplayBuffer) MarshalJSON() ([]byte, error) { return json.Marshal(b.problems) }

// UnmarshalJSON restores contents saved by MarshalJSON.
func (b *ReplayBuffer) UnmarshalJSON(data []byte) error {
	problems := map[string][]*Mistake{}
	if err := json.Unmarshal(data, &problems); err != nil {
		return fmt.Errorf("replay buffer: %w", err)
	}
	for p, l := range problems {
		for _, m := range l {
			if m == nil || len(m.Steps) == 0 || m.Count < 1 {
				return fmt.Errorf("replay buffer: problem %q has a malformed mistake", p)
			}
		}
	}
	b.problems = problems
	return nil
}
