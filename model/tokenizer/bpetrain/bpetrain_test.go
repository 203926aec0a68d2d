package bpetrain

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"ltecli/model/tokenizer"
)

// train trains on corpus and loads the result.
func train(t *testing.T, corpus []string, vocabSize int) (*tokenizer.Tokenizer, []byte, []byte) {
	t.Helper()
	tj, cj, err := Train(corpus, vocabSize)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(tj, cj)
	if err != nil {
		t.Fatalf("the trained files do not load: %v", err)
	}
	return tok, tj, cj
}

// tokens returns the vocabulary spelling of the encoding of text.
func tokens(tok *tokenizer.Tokenizer, text string) []string {
	var out []string
	for _, id := range tok.Encode(text) {
		s, _ := tok.Token(id)
		out = append(out, s)
	}
	return out
}

// merges returns the merges of a tokenizer.json.
func merges(t *testing.T, tj []byte) [][2]string {
	t.Helper()
	var f struct {
		Model struct {
			Merges [][2]string `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tj, &f); err != nil {
		t.Fatal(err)
	}
	return f.Model.Merges
}

// TestTrainByHand checks merges worked out by hand. In "ab ab ab cd" the pieces are "ab",
// " ab" twice and " cd": a+b occurs 3 times and merges first; then Ġ+ab occurs twice; nothing
// else occurs twice. In "xy zw xy zw", x+y, Ġ+z and z+w all occur twice: the tie goes to the
// pair whose left token sorts first ("x" < "z" < "Ġ"), then Ġ+zw occurs twice.
func TestTrainByHand(t *testing.T) {
	cases := []struct {
		corpus     []string
		wantMerges [][2]string
		text       string
		wantTokens []string
	}{
		{[]string{"ab ab ab cd"}, [][2]string{{"a", "b"}, {"Ġ", "ab"}},
			"ab ab cd", []string{"ab", "Ġab", "Ġ", "c", "d"}},
		{[]string{"xy zw", " xy zw"}, [][2]string{{"x", "y"}, {"z", "w"}, {"Ġ", "zw"}},
			"xy zw xy", []string{"xy", "Ġzw", "Ġ", "xy"}},
	}
	for i, c := range cases {
		tok, tj, _ := train(t, c.corpus, 1000)
		if got := merges(t, tj); !reflect.DeepEqual(got, c.wantMerges) {
			t.Errorf("case %d: merges %q, want %q", i, got, c.wantMerges)
		}
		if got := tokens(tok, c.text); !slices.Equal(got, c.wantTokens) {
			t.Errorf("case %d: %q encodes as %q, want %q", i, c.text, got, c.wantTokens)
		}
		if got, want := tok.VocabSize(), 256+len(c.wantMerges)+3; got != want {
			t.Errorf("case %d: vocabulary of %d tokens, want %d", i, got, want)
		}
	}
}

// TestTrainSizeAndRoundTrip checks the vocabulary size limit, the special tokens, and that
// every corpus text decodes back to itself.
func TestTrainSizeAndRoundTrip(t *testing.T) {
	var corpus []string
	for i := range 300 {
		corpus = append(corpus, fmt.Sprintf("<|im_start|>user\nFind x with (%dx + %d) mod 13 = %d. Ünïcode, \\boxed{%d}.<|im_end|>\n<|im_start|>assistant\nx = %d<|im_end|>",
			i%13, i%7, i%11, i%5, i%3))
	}
	const size = 280
	tok, _, cj := train(t, corpus, size)
	if got := tok.VocabSize(); got != size {
		t.Errorf("vocabulary of %d tokens, want %d", got, size)
	}
	for i, text := range corpus {
		if got := tok.Decode(tok.Encode(text)); got != text {
			t.Fatalf("text %d decodes as %q, want %q", i, got, text)
		}
	}
	for id, name := range map[int]string{size - 3: EndOfText, size - 2: IMStart, size - 1: IMEnd} {
		if got, ok := tok.TokenID(name); !ok || got != id || !tok.IsSpecial(id) {
			t.Errorf("%s has id %d (found %v, special %v), want special id %d", name, got, ok, tok.IsSpecial(got), id)
		}
	}
	if eos, _ := tok.EOS(); eos != size-1 {
		t.Errorf("eos id %d, want %d (<|im_end|>)", eos, size-1)
	}
	if pad, _ := tok.PAD(); pad != size-3 {
		t.Errorf("pad id %d, want %d (<|endoftext|>)", pad, size-3)
	}
	if _, ok := tok.BOS(); ok {
		t.Error("bos token set, want none as in Qwen3")
	}
	if got := tokens(tok, "<|im_start|>user\n"); len(got) < 2 || got[0] != IMStart || got[len(got)-1] != "Ċ" {
		t.Errorf("<|im_start|>user\\n encodes as %q, want the special token, then the word, then the newline", got)
	}
	var config map[string]any
	if err := json.Unmarshal(cj, &config); err != nil {
		t.Fatal(err)
	}
	if got := config["eos_token"]; got != IMEnd {
		t.Errorf("tokenizer_config.json eos_token %v, want %s", got, IMEnd)
	}
	if _, _, err := Train(corpus, 258); err == nil {
		t.Error("a vocabulary too small for the bytes and special tokens was accepted")
	}
}

// TestTrainDeterministic checks that the files depend on the corpus only.
func TestTrainDeterministic(t *testing.T) {
	corpus := []string{"the cat sat on the mat", "the hat", "at that"}
	first, _, err := Train(corpus, 280)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, _, err := Train(corpus, 280)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatal("two trainings on the same corpus differ")
		}
	}
}

// TestMatchesQwen3Pipeline compares every part of the trained tokenizer.json except the
// vocabulary, the merges and the added tokens' ids with the real Qwen3 file that make setup
// fetches, and the special tokens' entries of tokenizer_config.json.
func TestMatchesQwen3Pipeline(t *testing.T) {
	dir := qwen3Dir(t)
	realTJ, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	realCJ, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	tj, cj, err := Train([]string{"hello hello"}, 300)
	if err != nil {
		t.Fatal(err)
	}
	var real, ours map[string]any
	unmarshal(t, realTJ, &real)
	unmarshal(t, tj, &ours)
	for _, key := range []string{"version", "truncation", "padding", "normalizer", "pre_tokenizer", "post_processor", "decoder"} {
		if !reflect.DeepEqual(ours[key], real[key]) {
			t.Errorf("%s: %v, Qwen3 has %v", key, ours[key], real[key])
		}
	}
	realModel, ourModel := real["model"].(map[string]any), ours["model"].(map[string]any)
	for key, want := range realModel {
		if key != "vocab" && key != "merges" && !reflect.DeepEqual(ourModel[key], want) {
			t.Errorf("model.%s: %v, Qwen3 has %v", key, ourModel[key], want)
		}
	}
	if len(ourModel) != len(realModel) {
		t.Errorf("model has %d keys, Qwen3's has %d", len(ourModel), len(realModel))
	}
	realAdded, ourAdded := real["added_tokens"].([]any), ours["added_tokens"].([]any)
	for i, a := range ourAdded {
		want := realAdded[i].(map[string]any)
		got := a.(map[string]any)
		delete(want, "id")
		delete(got, "id")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("added token %d: %v, Qwen3 has %v", i, got, want)
		}
	}
	var realConfig, ourConfig map[string]any
	unmarshal(t, realCJ, &realConfig)
	unmarshal(t, cj, &ourConfig)
	for _, key := range []string{"add_bos_token", "add_prefix_space", "bos_token", "clean_up_tokenization_spaces", "eos_token", "errors", "pad_token", "split_special_tokens", "tokenizer_class", "unk_token"} {
		if !reflect.DeepEqual(ourConfig[key], realConfig[key]) {
			t.Errorf("tokenizer_config.json %s: %v, Qwen3 has %v", key, ourConfig[key], realConfig[key])
		}
	}
}

func unmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// qwen3Dir returns the folder of the real Qwen3 tokenizer files that make setup fetches:
// $LTECLI_CACHE/qwen3-tokenizer, or <repository root>/.cache/qwen3-tokenizer.
func qwen3Dir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("LTECLI_CACHE")
	if cache == "" {
		root, err := filepath.Abs("../../..")
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(root, ".cache")
	}
	dir := filepath.Join(cache, "qwen3-tokenizer")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("the Qwen3 tokenizer files are missing (%v): run `make setup`", err)
	}
	return dir
}
