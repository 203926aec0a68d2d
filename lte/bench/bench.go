// Package bench loads the six evaluation benchmarks of the LTE paper (MATH-500, Minerva,
// OlympiadBench, AMC23, AIME24, AIME25) from their JSON-lines files into one shape, with
// gold answers as bare strings ready for verify.Verify.
package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"ltecli/lte/verify"
)

// Problem is one benchmark problem.
type Problem struct {
	ID       string // the row's own id (unique_id, idx or id), or its line number
	Question string
	Answer   string // the gold answer as a bare string (no \boxed, possibly with $...$)
}

// Names are the benchmark names; each is stored as <name>.jsonl.
var Names = []string{"math500", "minerva", "olympiadbench", "amc23", "aime24", "aime25"}

// format says where a benchmark keeps its fields.
type format struct {
	question string   // field holding the problem statement
	answer   string   // field holding the gold answer ("" for Minerva: last box of solution)
	ids      []string // id fields, first present wins
}

var formats = map[string]format{
	"math500":       {question: "problem", answer: "answer", ids: []string{"unique_id"}},
	"minerva":       {question: "problem", answer: "", ids: []string{"idx"}},
	"olympiadbench": {question: "question", answer: "final_answer", ids: []string{"id"}},
	"amc23":         {question: "problem", answer: "answer", ids: []string{"id"}},
	"aime24":        {question: "problem", answer: "answer", ids: []string{"id"}},
	"aime25":        {question: "question", answer: "answer", ids: []string{"id"}},
}

// LoadDir loads every benchmark of Names from dir, keyed by name.
func LoadDir(dir string) (map[string][]Problem, error) {
	out := make(map[string][]Problem, len(Names))
	for _, name := range Names {
		ps, err := Load(filepath.Join(dir, name+".jsonl"))
		if err != nil {
			return nil, err
		}
		out[name] = ps
	}
	return out, nil
}

// Load reads one benchmark file; its base name (math500.jsonl, ...) selects the format.
// Every row must yield a question and a gold answer: a bad row is an error naming the file
// and line.
//
// Gold answers: numbers are written as integers when integral (AIME25's 70.0 is "70");
// Minerva's is the last \boxed{} of its solution; OlympiadBench's final_answer is a list (a
// JSON array, or a string holding a Python list) whose items are joined with ", " – the way
// a model lists several answers in one box.
func Load(path string) ([]Problem, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".jsonl")
	f, ok := formats[name]
	if !ok {
		return nil, fmt.Errorf("%s: unknown benchmark %q (want one of %s)", path, name, strings.Join(Names, ", "))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read benchmark: %w", err)
	}
	var out []Problem
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		p, err := f.row(sc.Bytes(), line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no problems", path)
	}
	return out, nil
}

func (f format) row(line []byte, lineNo int) (Problem, error) {
	var row map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&row); err != nil {
		return Problem{}, fmt.Errorf("not a JSON object: %w", err)
	}
	p := Problem{ID: fmt.Sprint(lineNo)}
	for _, key := range f.ids {
		if v, ok := scalar(row[key]); ok && v != "" {
			p.ID = v
			break
		}
	}
	q, ok := scalar(row[f.question])
	if !ok || strings.TrimSpace(q) == "" {
		return Problem{}, fmt.Errorf("no %q field", f.question)
	}
	p.Question = q
	var err error
	switch f.answer {
	case "":
		sol, _ := scalar(row["solution"])
		a, found := verify.LastBoxed(sol)
		if !found {
			return Problem{}, fmt.Errorf("solution has no \\boxed{} answer")
		}
		p.Answer = a
	case "final_answer":
		p.Answer, err = answerList(row[f.answer])
	default:
		p.Answer, err = answerScalar(row[f.answer])
	}
	if err != nil {
		return Problem{}, fmt.Errorf("field %q: %w", f.answer, err)
	}
	if strings.TrimSpace(p.Answer) == "" {
		return Problem{}, fmt.Errorf("empty gold answer")
	}
	return p, nil
}

// scalar returns a JSON string's value or a JSON number's text.
func scalar(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	return "", false
}

// answerScalar reads a gold answer that is a string or a number; integral numbers lose their
// ".0" so that AIME's 70.0 reads as 70.
func answerScalar(raw json.RawMessage) (string, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		r, ok := new(big.Rat).SetString(n.String())
		if !ok {
			return "", fmt.Errorf("bad number %s", n)
		}
		if r.IsInt() {
			return r.Num().String(), nil
		}
		return n.String(), nil
	}
	s, ok := scalar(raw)
	if !ok {
		return "", fmt.Errorf("neither a string nor a number")
	}
	return s, nil
}

// answerList reads OlympiadBench's final_answer: a JSON array of strings, or a string that
// holds a Python list of strings. Several answers are joined with ", ".
func answerList(raw json.RawMessage) (string, error) {
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("neither a list nor a string")
		}
		if items, err = pythonStrings(s); err != nil {
			return "", err
		}
	}
	if len(items) == 0 {
		return "", fmt.Errorf("empty list")
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return strings.Join(items, ", "), nil
}

// pythonStrings parses a Python list of string literals such as ['2', "$x$"].
func pythonStrings(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("%q is not a list", s)
	}
	body := s[1 : len(s)-1]
	var items []string
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == ' ' || c == ',' || c == '\n' || c == '\t':
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(body) && body[j] != c; j++ {
				if body[j] == '\\' && j+1 < len(body) {
					j++
					if body[j] != c && body[j] != '\\' {
						b.WriteByte('\\')
					}
				}
				b.WriteByte(body[j])
			}
			if j >= len(body) {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			items = append(items, b.String())
			i = j + 1
		default:
			return nil, fmt.Errorf("unexpected %q in list %q", c, s)
		}
	}
	return items, nil
}
