package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// TestPreTokenize checks pieces worked out by hand from the Qwen2 pattern.
func TestPreTokenize(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Find x in {0, ..., 12}.", []string{"Find", " x", " in", " {", "0", ",", " ...,", " ", "1", "2", "}."}},
		{"it's  ok\n\nyes ", []string{"it", "'s", " ", " ok", "\n\n", "yes", " "}},
		{"\\boxed{5}", []string{"\\boxed", "{", "5", "}"}},
		{"e\u0301", []string{"\u00e9"}},      // NFC composes e + combining acute
		{"a\xffb", []string{"a", "\ufffdb"}}, // invalid UTF-8 becomes U+FFFD, which is not a letter
	}
	for i, c := range cases {
		if got := PreTokenize(c.in); !slices.Equal(got, c.want) {
			t.Errorf("case %d: PreTokenize(%q) = %q, want %q", i, c.in, got, c.want)
		}
	}
}

// TestPreTokenizeMatchesEncode checks that a tokenizer without merges encodes text into the
// bytes of PreTokenize's pieces, spelled by ByteLevel as vocabulary tokens.
func TestPreTokenizeMatchesEncode(t *testing.T) {
	tj, cj := tinyFiles()
	tj["model"].(map[string]any)["merges"] = []any{}
	tok, err := newTiny(t, tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	text := "Hello, wörld!  It's 2025:\r\n\tdone…  "
	var want []string
	for _, piece := range PreTokenize(text) {
		for _, r := range ByteLevel(piece) {
			want = append(want, string(r))
		}
	}
	var got []string
	for _, id := range tok.Encode(text) {
		token, _ := tok.Token(id)
		got = append(got, token)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Encode gives %q, PreTokenize and ByteLevel give %q", got, want)
	}
}

func TestByteLevel(t *testing.T) {
	if got, want := ByteLevel(" a\n\x00\xff"), "Ġa"+"Ċ"+"Ā"+"ÿ"; got != want {
		t.Errorf("ByteLevel = %q, want %q", got, want)
	}
	var all strings.Builder
	for b := range 256 {
		all.WriteByte(byte(b))
	}
	raw, ok := fromByteLevel(ByteLevel(all.String()))
	if !ok || raw != all.String() {
		t.Errorf("ByteLevel of all 256 bytes does not map back")
	}
}
