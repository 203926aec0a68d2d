package lte

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"ltecli/lte/jsonl"
	"ltecli/lte/verify"
)

// Message is one chat turn of a verl-style prompt.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Problem is one training or evaluation item.
type Problem struct {
	ID       string    `json:"id"`
	Question string    `json:"question"`
	Answer   string    `json:"answer"`             // gold answer, as a bare expression
	Source   string    `json:"source,omitempty"`   // data_source, or the file's name
	Messages []Message `json:"messages,omitempty"` // verl prompt: rendered with the chat format instead of a template
}

// Fields names the columns to read; empty names are detected: the question from problem,
// question or a verl prompt; the answer from answer, final_answer (OlympiadBench),
// reward_model.ground_truth (verl) or the last \boxed{} of solution (Minerva).
type Fields struct {
	Question string
	Answer   string
	ID       string
}

// LoadProblems reads a JSONL (.jsonl, .json lines) or Parquet (.parquet) file. Every row must
// give a question and an answer: a bad row is an error naming the file and line (row), never
// dropped silently. Blank lines are skipped (package jsonl); a file with no rows is an error.
func LoadProblems(path string, fields Fields) ([]Problem, error) {
	var rows []map[string]any
	var lines []int // the line of each row; nil for Parquet, whose rows are numbered from 1
	var err error
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		rows, err = readParquet(path)
	} else {
		rows, lines, err = readJSONL(path)
	}
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no problems", path)
	}
	source := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	out := make([]Problem, 0, len(rows))
	seen := map[string]int{}
	for i, row := range rows {
		line := i + 1
		if lines != nil {
			line = lines[i]
		}
		p, err := rowProblem(row, fields, source, i)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if prev, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %q repeats line %d", path, line, p.ID, prev)
		}
		seen[p.ID] = line
		out = append(out, p)
	}
	return out, nil
}

// readJSONL reads the rows of a JSONL file and the line number of each.
func readJSONL(path string) (rows []map[string]any, lines []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	in := jsonl.NewReader(f)
	for {
		raw, err := in.Next()
		if errors.Is(err, io.EOF) {
			return rows, lines, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, in.Line(), err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not a JSON object: %w", path, in.Line(), err)
		}
		rows, lines = append(rows, row), append(lines, in.Line())
	}
}

func readParquet(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable parquet file: %w", path, err)
	}
	r := parquet.NewGenericReader[map[string]any](pf, pf.Schema())
	defer r.Close()
	var rows []map[string]any
	buf := make([]map[string]any, 256)
	for {
		for i := range buf {
			buf[i] = map[string]any{}
		}
		n, err := r.Read(buf)
		rows = append(rows, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, len(rows)+1, err)
		}
	}
}

// field looks up a dotted path ("reward_model.ground_truth") in a row.
func field(row map[string]any, path string) (any, bool) {
	var cur any = row
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

func rowProblem(row map[string]any, fields Fields, source string, index int) (Problem, error) {
	p := Problem{Source: source}
	if ds, ok := field(row, "data_source"); ok {
		p.Source = fmt.Sprint(ds)
	}
	// Question.
	qNames := []string{"problem", "question"}
	if fields.Question != "" {
		qNames = []string{fields.Question}
	}
	for _, name := range qNames {
		if v, ok := field(row, name); ok {
			s, isStr := v.(string)
			if !isStr || strings.TrimSpace(s) == "" {
				return Problem{}, fmt.Errorf("field %q must be a non-empty string", name)
			}
			p.Question = s
			break
		}
	}
	if p.Question == "" && fields.Question == "" {
		if v, ok := field(row, "prompt"); ok {
			msgs, err := messages(v)
			if err != nil {
				return Problem{}, fmt.Errorf("prompt: %w", err)
			}
			p.Messages = msgs
			for _, m := range msgs {
				if m.Role == "user" {
					p.Question = m.Content
				}
			}
		}
	}
	if p.Question == "" {
		return Problem{}, fmt.Errorf("no question (looked for %s)", strings.Join(append(qNames, "prompt"), ", "))
	}
	// Answer.
	var err error
	switch {
	case fields.Answer != "":
		v, ok := field(row, fields.Answer)
		if !ok {
			return Problem{}, fmt.Errorf("no answer field %q", fields.Answer)
		}
		p.Answer, err = answerText(v)
	default:
		if v, ok := field(row, "answer"); ok {
			p.Answer, err = answerText(v)
		} else if v, ok := field(row, "final_answer"); ok {
			p.Answer, err = listAnswer(v)
		} else if v, ok := field(row, "reward_model.ground_truth"); ok {
			p.Answer, err = answerText(v)
		} else if v, ok := field(row, "solution"); ok {
			s, _ := v.(string)
			var found bool
			if p.Answer, found = verify.LastBoxed(s); !found {
				err = errors.New("solution has no \\boxed{} answer")
			}
		} else {
			err = errors.New("no answer (looked for answer, final_answer, reward_model.ground_truth, solution)")
		}
	}
	if err != nil {
		return Problem{}, err
	}
	if strings.TrimSpace(p.Answer) == "" {
		return Problem{}, errors.New("empty answer")
	}
	// ID.
	idNames := []string{"id", "unique_id", "idx", "extra_info.index"}
	if fields.ID != "" {
		idNames = []string{fields.ID}
	}
	p.ID = strconv.Itoa(index)
	for _, name := range idNames {
		if v, ok := field(row, name); ok {
			p.ID = fmt.Sprint(v)
			break
		}
	}
	return p, nil
}

func messages(v any) ([]Message, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("must be a non-empty list of {role, content}")
	}
	out := make([]Message, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("message %d is not an object", i)
		}
		role, _ := m["role"].(string)
		content, _ := m["content"].(string)
		if role == "" {
			return nil, fmt.Errorf("message %d has no role", i)
		}
		out[i] = Message{Role: role, Content: content}
	}
	return out, nil
}

// answerText turns a gold answer value into text: strings as they are, numbers without a
// spurious ".0" (AIME25 stores 70.0).
func answerText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case json.Number:
		return numberText(x.String()), nil
	case float64:
		return numberText(strconv.FormatFloat(x, 'f', -1, 64)), nil
	case float32:
		return numberText(strconv.FormatFloat(float64(x), 'f', -1, 32)), nil
	case int, int32, int64, uint32, uint64:
		return fmt.Sprint(x), nil
	case []any:
		return listAnswer(x)
	}
	return "", fmt.Errorf("answer of type %T is not text or a number", v)
}

func numberText(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
		return s[:i]
	}
	return s
}

var (
	pyListItem = regexp.MustCompile(`^\[\s*(.*?)\s*\]$`)
	// unescapedDollar matches math delimiters ($ not written as \$), keeping what precedes.
	unescapedDollar = regexp.MustCompile(`(^|[^\\])\$+`)
)

// listAnswer reads OlympiadBench's final_answer, a list written as a string ("['2']",
// "['$x=1$', '$y=2$']") or a real list; several answers are joined with ", ".
func listAnswer(v any) (string, error) {
	var items []string
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			s, err := answerText(it)
			if err != nil {
				return "", err
			}
			items = append(items, s)
		}
	case string:
		m := pyListItem.FindStringSubmatch(strings.TrimSpace(x))
		if m == nil {
			return strings.TrimSpace(x), nil
		}
		items = splitPythonStrings(m[1])
	default:
		return answerText(v)
	}
	for i, it := range items {
		items[i] = strings.TrimSpace(unescapedDollar.ReplaceAllString(it, "$1"))
	}
	return strings.Join(items, ", "), nil
}

// splitPythonStrings splits the inside of a Python list of quoted strings, honouring quotes
// and backslash escapes of the quote character.
func splitPythonStrings(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		q := s[i]
		if q != '\'' && q != '"' {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				out = append(out, s[i:])
				break
			}
			out = append(out, s[i:i+j])
			i += j
			continue
		}
		var sb strings.Builder
		j := i + 1
		for ; j < len(s) && s[j] != q; j++ {
			if s[j] == '\\' && j+1 < len(s) && (s[j+1] == q || s[j+1] == '\\') {
				j++
			}
			sb.WriteByte(s[j])
		}
		out = append(out, sb.String())
		i = j + 1
	}
	return out
}

// EpochOrder returns the order in which an epoch visits n problems: a permutation drawn from
// (seed, epoch), the same on every run.
func EpochOrder(n int, seed uint64, epoch int) []int {
	r := rand.New(rand.NewPCG(seed, uint64(epoch)+0x9e3779b97f4a7c15))
	return r.Perm(n)
}
