package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// qwen3Dir returns the folder of the real Qwen3 tokenizer files that make setup fetches:
// $LTECLI_CACHE/qwen3-tokenizer, or <repository root>/.cache/qwen3-tokenizer.
func qwen3Dir(t testing.TB) string {
	t.Helper()
	cache := os.Getenv("LTECLI_CACHE")
	if cache == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatal("no go.mod above the test's directory")
			}
			dir = parent
		}
		cache = filepath.Join(dir, ".cache")
	}
	dir := filepath.Join(cache, "qwen3-tokenizer")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("the Qwen3 tokenizer files are missing (%v): run `make setup`", err)
	}
	return dir
}

var (
	qwen3Once sync.Once
	qwen3Tok  *Tokenizer
	qwen3Err  error
)

// qwen3 returns the real Qwen3 tokenizer, loaded once for all tests.
func qwen3(t testing.TB) *Tokenizer {
	t.Helper()
	dir := qwen3Dir(t)
	qwen3Once.Do(func() { qwen3Tok, qwen3Err = Load(dir) })
	if qwen3Err != nil {
		t.Fatal(qwen3Err)
	}
	return qwen3Tok
}

// goldenRecord is one line of testdata/qwen3_golden.jsonl (see testdata/golden.mjs).
type goldenRecord struct {
	Source  string `json:"source"`
	Text    string `json:"text"`
	IDs     []int  `json:"ids"`
	Decoded string `json:"decoded"`
}

func readGolden(t testing.TB) []goldenRecord {
	t.Helper()
	f, err := os.Open("testdata/qwen3_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []goldenRecord
	scanner := bufio.NewScanner(f)
	scanner.Buffer(nil, 1<<24)
	for scanner.Scan() {
		var r goldenRecord
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			t.Fatalf("golden line %d: %v", len(records)+1, err)
		}
		records = append(records, r)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if len(records) < 1000 {
		t.Fatalf("golden file has %d lines, want the full corpus", len(records))
	}
	return records
}

// firstDiff returns the index of the first difference between two id lists.
func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestGoldenIDs(t *testing.T) {
	tok := qwen3(t)
	sources := map[string]int{}
	for i, r := range readGolden(t) {
		sources[r.Source]++
		got := tok.Encode(r.Text)
		if !slices.Equal(got, r.IDs) {
			d := firstDiff(got, r.IDs)
			t.Errorf("line %d (%s) %q: ids differ at %d: got %v, want %v",
				i+1, r.Source, r.Text, d, got[d:min(d+8, len(got))], r.IDs[d:min(d+8, len(r.IDs))])
			continue
		}
		if dec := tok.Decode(r.IDs); dec != r.Decoded {
			t.Errorf("line %d (%s): Decode = %q, reference decodes %q", i+1, r.Source, dec, r.Decoded)
		}
	}
	for _, source := range []string{"handpicked", "random", "math500-problem", "math500-solution"} {
		if sources[source] == 0 {
			t.Errorf("golden file has no %s lines", source)
		}
	}
}

// TestRoundTrip checks Decode(Encode(x)) == NFC(x). Where NFC composes a character with a
// neighbouring added token (as in "<think>" + U+0338 -> "<think≯"), the tokenizer normalizes
// only the text between added tokens, and the reference's decoding is what it must give.
func TestRoundTrip(t *testing.T) {
	tok := qwen3(t)
	exceptions := 0
	for i, r := range readGolden(t) {
		want := norm.NFC.String(r.Text)
		if r.Decoded != want {
			exceptions++
			want = r.Decoded
		}
		if got := tok.Decode(tok.Encode(r.Text)); got != want {
			t.Errorf("line %d (%s): Decode(Encode(%q)) = %q, want %q", i+1, r.Source, r.Text, got, want)
		}
	}
	if exceptions > 10 {
		t.Errorf("%d golden lines do not decode to their NFC form; only added tokens next to composing marks should", exceptions)
	}

	// Random text from a mixed alphabet.
	alphabet := []rune("aZé\u0301 \t\n\r\u00a0\u3000'sLL0٣.!?-中😀\u200d\u0338<>")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		x := b.String()
		if got, want := tok.Decode(tok.Encode(x)), norm.NFC.String(x); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", x, got, want)
		}
	}
}

// streamDecode decodes ids one at a time with a StreamDecoder.
func streamDecode(tok *Tokenizer, ids []int) string {
	d := tok.NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(d.Next(id))
	}
	b.WriteString(d.Flush())
	return b.String()
}

func TestStreamDecoder(t *testing.T) {
	tok := qwen3(t)
	for i, r := range readGolden(t) {
		if got := streamDecode(tok, r.IDs); got != r.Decoded {
			t.Errorf("line %d (%s): streamed %q, want %q", i+1, r.Source, got, r.Decoded)
		}
	}
	// Random ids, many of them single bytes that cut characters and make invalid UTF-8,
	// with added tokens and unknown ids among them.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		ids := make([]int, 1+rng.IntN(12))
		for j := range ids {
			switch k := rng.IntN(20); {
			case k == 0:
				ids[j] = 151643 + rng.IntN(26) // an added token
			case k == 1:
				ids[j] = tok.VocabSize() + rng.IntN(300) // no token
			case k < 10:
				ids[j] = int(tok.byteID[0x80+rng.IntN(0x80)]) // a non-ASCII byte
			default:
				ids[j] = rng.IntN(tok.VocabSize())
			}
		}
		if got, want := streamDecode(tok, ids), tok.Decode(ids); got != want {
			t.Fatalf("ids %v: streamed %q, Decode gives %q", ids, got, want)
		}
	}
}

// TestStreamDecoderHoldsBack checks that Next returns nothing while a character is incomplete
// and the whole character once it is.
func TestStreamDecoderHoldsBack(t *testing.T) {
	tok := qwen3(t)
	d := tok.NewStreamDecoder()
	smile := []byte("😀") // F0 9F 98 80
	for i, b := range smile {
		got := d.Next(int(tok.byteID[b]))
		want := ""
		if i == len(smile)-1 {
			want = "😀"
		}
		if got != want {
			t.Fatalf("byte %d: Next = %q, want %q", i, got, want)
		}
	}
	d.Next(int(tok.byteID[0xE4]))
	if got := d.Flush(); got != "\uFFFD" {
		t.Errorf("Flush of a cut character = %q, want U+FFFD", got)
	}
	if got := d.Flush(); got != "" {
		t.Errorf("second Flush = %q, want nothing", got)
	}
}

// TestDecodeInvalidUTF8 checks the replacement of invalid bytes against the example of the
// Unicode standard (section 3.9, "U+FFFD Substitution of Maximal Subparts", table 3-8) and
// other cases of the WHATWG decoder.
func TestDecodeInvalidUTF8(t *testing.T) {
	tok := qwen3(t)
	cases := []struct{ in, want string }{
		{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"\xE4\xB8", "\uFFFD"},
		{"\xE4\xB8A", "\uFFFDA"},
		{"\xF0\x9F\x98", "\uFFFD"},
		{"\xC0\xAF", "\uFFFD\uFFFD"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xE0\x80\xAF", "\uFFFD\uFFFD\uFFFD"},
		{"\xFF\xFE", "\uFFFD\uFFFD"},
		{"\xEF\xBF\xBD", "\uFFFD"},
		{"ok\xF0\x9F\x98\x80", "ok😀"},
	}
	for i, c := range cases {
		ids := make([]int, len(c.in))
		for j := range len(c.in) {
			ids[j] = int(tok.byteID[c.in[j]])
		}
		if got := tok.Decode(ids); got != c.want {
			t.Errorf("case %d: Decode(bytes %x) = %q, want %q", i, c.in, got, c.want)
		}
		if got := streamDecode(tok, ids); got != c.want {
			t.Errorf("case %d: streamed bytes %x = %q, want %q", i, c.in, got, c.want)
		}
		// Encode treats invalid input the same way.
		if got := tok.Decode(tok.Encode(c.in)); got != c.want {
			t.Errorf("case %d: Decode(Encode(%q)) = %q, want %q", i, c.in, got, c.want)
		}
	}
}

func TestDecodeSkipsUnknownIDs(t *testing.T) {
	tok := qwen3(t)
	hi := tok.Encode("hi")
	ids := append([]int{-1, tok.VocabSize()}, hi...)
	ids = append(ids, 151935)
	if got := tok.Decode(ids); got != "hi" {
		t.Errorf("Decode(%v) = %q, want %q", ids, got, "hi")
	}
}

// TestQwen3Tokens checks the accessors against the Qwen3 token ids published with the model.
func TestQwen3Tokens(t *testing.T) {
	tok := qwen3(t)
	if got := tok.VocabSize(); got != 151669 {
		t.Errorf("VocabSize = %d, want 151669", got)
	}
	for token, want := range map[string]int{
		"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
		"<think>": 151667, "</think>": 151668, "!": 0, "Ġ": 220, "Ġthe": 279,
	} {
		if id, ok := tok.TokenID(token); !ok || id != want {
			t.Errorf("TokenID(%q) = %d, %v; want %d", token, id, ok, want)
		}
		if got, ok := tok.Token(want); !ok || got != token {
			t.Errorf("Token(%d) = %q, %v; want %q", want, got, ok, token)
		}
	}
	if _, ok := tok.Token(tok.VocabSize()); ok {
		t.Error("Token(VocabSize()) exists")
	}
	if id, ok := tok.EOS(); !ok || id != 151645 {
		t.Errorf("EOS = %d, %v; want <|im_end|> 151645", id, ok)
	}
	if id, ok := tok.PAD(); !ok || id != 151643 {
		t.Errorf("PAD = %d, %v; want <|endoftext|> 151643", id, ok)
	}
	if id, ok := tok.BOS(); ok {
		t.Errorf("BOS = %d, want none", id)
	}
	special := tok.SpecialIDs()
	if len(special) != 14 || special[0] != 151643 || special[13] != 151656 {
		t.Errorf("SpecialIDs = %v, want 151643..151656", special)
	}
	if !tok.IsSpecial(151645) || tok.IsSpecial(151667) || tok.IsSpecial(279) || tok.IsSpecial(-1) {
		t.Error("IsSpecial disagrees with tokenizer.json's special flags")
	}
}

// TestPieces checks the pre-tokenizer's cuts, worked out by hand from the pattern.
func TestPieces(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello  world\n\n  x", []string{"Hello", " ", " world", "\n\n", " ", " x"}},
		{"I'M they'LL 'sam", []string{"I", "'M", " they", "'LL", " '", "sam"}},
		{"'''s x", []string{"'''", "s", " x"}},
		{"abc   ", []string{"abc", "   "}},
		{" 123", []string{" ", "1", "2", "3"}},
		{"\t\tab", []string{"\t", "\tab"}},
		{"x \r\n\r\n  y", []string{"x", " \r\n\r\n", " ", " y"}},
		{"a...\n\nb", []string{"a", "...\n\n", "b"}},
		{" !!\r\n", []string{" !!\r\n"}},
		{"$x^2$", []string{"$x", "^", "2", "$"}},
		{"\u00a0\u00a0a", []string{"\u00a0", "\u00a0a"}},
		{"x\u0085y", []string{"x", "\u0085y"}},       // U+0085 is not \s in JavaScript
		{"x \ufeffy", []string{"x", " ", "\ufeffy"}}, // U+FEFF is
		{"中文 ２", []string{"中文", " ", "２"}},
		{"😀😀 😀", []string{"😀😀", " 😀"}},
	}
	for i, c := range cases {
		var got []string
		for j := 0; j < len(c.in); {
			end := nextPiece(c.in, j)
			got = append(got, c.in[j:end])
			j = end
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("case %d: pieces of %q = %q, want %q", i, c.in, got, c.want)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := qwen3(t)
	records := readGolden(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(records); i += 3 {
				if got := tok.Encode(records[i].Text); !slices.Equal(got, records[i].IDs) {
					errs <- fmt.Sprintf("goroutine %d, line %d: ids differ", g, i+1)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// benchText is the MATH-500 problems of the golden file joined by blank lines, the text that
// golden.mjs --bench encodes with the reference.
func benchText(b *testing.B) string {
	var problems []string
	for _, r := range readGolden(b) {
		if r.Source == "math500-problem" {
			problems = append(problems, r.Text)
		}
	}
	return strings.Join(problems, "\n\n")
}

func BenchmarkEncode(b *testing.B) {
	tok := qwen3(b)
	text := benchText(b)
	tokens := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text)
	}
	b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeCold encodes with an empty cache each time: every distinct piece goes
// through BPE once.
func BenchmarkEncodeCold(b *testing.B) {
	tok := qwen3(b)
	text := benchText(b)
	tokens := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		tok.cache.init()
		b.StartTimer()
		tok.Encode(text)
	}
	b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
