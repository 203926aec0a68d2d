package jsonl

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReader checks blank lines, line numbers, line endings and the unterminated last line.
func TestReader(t *testing.T) {
	in := NewReader(strings.NewReader("\n{\"a\":1}\r\n  \t\n{\"a\":2}\n\n{\"a\":3}"))
	var got []string
	var lines []int
	for {
		raw, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, lines = append(got, string(raw)), append(lines, in.Line())
		if in.Unterminated() != (in.Line() == 6) {
			t.Errorf("line %d: unterminated %v", in.Line(), in.Unterminated())
		}
	}
	if strings.Join(got, " ") != `{"a":1} {"a":2} {"a":3}` || len(lines) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 6 {
		t.Errorf("lines %q at %v", got, lines)
	}
}

// TestReadFileAndLog: a bad line is an error naming the file and line, in a log as in any file,
// except a bad unterminated last line, which only a log leaves out.
func TestReadFileAndLog(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range []struct {
		text            string
		fileN, logN     int
		fileErr, logErr string
	}{
		{"{\"a\":1}\n\n{\"a\":2}\n", 2, 2, "", ""},
		{"{\"a\":1}\n{\"a\":2}", 2, 2, "", ""},
		{"{\"a\":1}\n{\"a\":", 1, 1, "f.jsonl:2: ", ""},
		{"{\"a\":1}\n{\"a\":\n{\"a\":3}\n", 1, 1, "f.jsonl:2: ", "f.jsonl:2: "},
		{"{\"a\":1}\n\n\n{\"b\":4}\n", 1, 1, "f.jsonl:4: no a", "f.jsonl:4: no a"},
		{"", 0, 0, "", ""},
	} {
		path := filepath.Join(dir, "f.jsonl")
		os.WriteFile(path, []byte(tc.text), 0o644)
		for _, mode := range []struct {
			read func(string, func([]byte) error) error
			n    int
			err  string
		}{{ReadFile, tc.fileN, tc.fileErr}, {ReadLog, tc.logN, tc.logErr}} {
			n := 0
			err := mode.read(path, func(raw []byte) error {
				var v struct{ A *int }
				if err := json.Unmarshal(raw, &v); err != nil {
					return err
				}
				if v.A == nil {
					return errors.New("no a")
				}
				n++
				return nil
			})
			if (err == nil) != (mode.err == "") || (err != nil && !strings.Contains(err.Error(), mode.err)) {
				t.Errorf("case %d: error %v, want %q", i, err, mode.err)
			}
			if err == nil && n != mode.n {
				t.Errorf("case %d: %d values, want %d", i, n, mode.n)
			}
		}
	}
}
