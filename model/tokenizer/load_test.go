package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyFiles returns a small tokenizer.json and tokenizer_config.json of the Qwen3 kind, as
// maps a test can change: the 256 byte tokens (id b for byte b), four merges and two added
// tokens.
func tinyFiles() (tokenizerJSON, configJSON map[string]any) {
	vocab := map[string]any{}
	for b := range 256 {
		vocab[string(byteLevelRune[b])] = b
	}
	vocab["bc"], vocab["ab"], vocab["aa"], vocab["aaaa"] = 256, 257, 258, 259
	byteLevel := func() map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	}
	tokenizerJSON = map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{
			map[string]any{"id": 260, "content": "<x>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
			map[string]any{"id": 261, "content": "<x>>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false},
		},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
			byteLevel(),
		}},
		"post_processor": byteLevel(),
		"decoder":        byteLevel(),
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "", "end_of_word_suffix": "",
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab":  vocab,
			"merges": []any{[]any{"b", "c"}, []any{"a", "b"}, []any{"a", "a"}, []any{"aa", "aa"}},
		},
	}
	configJSON = map[string]any{
		"eos_token":                    "<x>",
		"pad_token":                    map[string]any{"__type": "AddedToken", "content": "<x>>"},
		"bos_token":                    nil,
		"clean_up_tokenization_spaces": false,
		"errors":                       "replace",
		"added_tokens_decoder": map[string]any{
			"260": map[string]any{"content": "<x>", "special": true},
		},
	}
	return tokenizerJSON, configJSON
}

func newTiny(t *testing.T, tokenizerJSON, configJSON map[string]any) (*Tokenizer, error) {
	t.Helper()
	tj, err := json.Marshal(tokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	cj, err := json.Marshal(configJSON)
	if err != nil {
		t.Fatal(err)
	}
	return New(tj, cj)
}

// TestTinyBPE checks merge order on cases worked out by hand.
func TestTinyBPE(t *testing.T) {
	tj, cj := tinyFiles()
	tok, err := newTiny(t, tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want []int
	}{
		{"abc", []int{'a', 256}},                 // (b,c) ranks before (a,b)
		{"ab", []int{257}},                       // (a,b) applies when (b,c) cannot
		{"aaa", []int{258, 'a'}},                 // equal ranks: leftmost first
		{"aaaa", []int{259}},                     // aa+aa after both (a,a)
		{"aaaaa", []int{259, 'a'}},               // (a,a) at 0 and 2, then (aa,aa)
		{"a<x>>b<x>", []int{'a', 261, 'b', 260}}, // longest added token first
		{"<x", []int{'<', 'x'}},
		{"a  b", []int{'a', ' ', ' ', 'b'}},
		{"é", []int{0xC3, 0xA9}},
		{"e\u0301", []int{0xC3, 0xA9}}, // NFC
	}
	for i, c := range cases {
		if got := tok.Encode(c.in); !slices.Equal(got, c.want) {
			t.Errorf("case %d: Encode(%q) = %v, want %v", i, c.in, got, c.want)
		}
	}
	if id, ok := tok.EOS(); !ok || id != 260 {
		t.Errorf("EOS = %d, %v; want 260", id, ok)
	}
	if id, ok := tok.PAD(); !ok || id != 261 {
		t.Errorf("PAD = %d, %v; want 261 (from an AddedToken object)", id, ok)
	}
	if _, ok := tok.BOS(); ok {
		t.Error("BOS exists, want none")
	}
}

func TestNoNormalizer(t *testing.T) {
	tj, cj := tinyFiles()
	tj["normalizer"] = nil
	tok, err := newTiny(t, tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("e\u0301"), []int{'e', 0xCC, 0x81}; !slices.Equal(got, want) {
		t.Errorf("without a normalizer, Encode(e + U+0301) = %v, want %v", got, want)
	}
}

func TestLegacyMerges(t *testing.T) {
	tj, cj := tinyFiles()
	tj["model"].(map[string]any)["merges"] = []any{"b c", "a b", "a a", "aa aa"}
	tok, err := newTiny(t, tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("abc aaaa"), []int{'a', 256, ' ', 259}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

// TestRefusesUnsupported checks that every feature outside the implemented pipeline is
// refused with an error that names it.
func TestRefusesUnsupported(t *testing.T) {
	model := func(tj map[string]any) map[string]any { return tj["model"].(map[string]any) }
	pre := func(tj map[string]any, i int) map[string]any {
		return tj["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[i].(map[string]any)
	}
	added := func(tj map[string]any) map[string]any { return tj["added_tokens"].([]any)[0].(map[string]any) }
	cases := []struct {
		name   string
		change func(tj, cj map[string]any)
		want   string
	}{
		{"version", func(tj, cj map[string]any) { tj["version"] = "2.0" }, "version"},
		{"truncation", func(tj, cj map[string]any) { tj["truncation"] = map[string]any{"max_length": 8} }, "truncation"},
		{"padding", func(tj, cj map[string]any) { tj["padding"] = map[string]any{"strategy": "BatchLongest"} }, "padding"},
		{"normalizer", func(tj, cj map[string]any) { tj["normalizer"] = map[string]any{"type": "NFKC"} }, `normalizer "NFKC"`},
		{"no pre-tokenizer", func(tj, cj map[string]any) { tj["pre_tokenizer"] = nil }, "pre_tokenizer"},
		{"pre-tokenizer", func(tj, cj map[string]any) {
			tj["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁"}
		}, `"Metaspace"`},
		{"regex", func(tj, cj map[string]any) {
			pre(tj, 0)["pattern"] = map[string]any{"Regex": `\s+|\S+`}
		}, "Split regex"},
		{"string pattern", func(tj, cj map[string]any) {
			pre(tj, 0)["pattern"] = map[string]any{"String": " "}
		}, "Split pattern"},
		{"behavior", func(tj, cj map[string]any) { pre(tj, 0)["behavior"] = "Removed" }, "Split behavior"},
		{"invert", func(tj, cj map[string]any) { pre(tj, 0)["invert"] = true }, "Split invert"},
		{"prefix space", func(tj, cj map[string]any) { pre(tj, 1)["add_prefix_space"] = true }, "add_prefix_space"},
		{"byte-level regex", func(tj, cj map[string]any) { pre(tj, 1)["use_regex"] = true }, "use_regex"},
		{"post-processor", func(tj, cj map[string]any) {
			tj["post_processor"] = map[string]any{"type": "TemplateProcessing"}
		}, "post_processor"},
		{"no decoder", func(tj, cj map[string]any) { tj["decoder"] = nil }, "decoder"},
		{"decoder", func(tj, cj map[string]any) { tj["decoder"] = map[string]any{"type": "WordPiece"} }, `decoder "WordPiece"`},
		{"model", func(tj, cj map[string]any) { model(tj)["type"] = "WordPiece" }, `model "WordPiece"`},
		{"dropout", func(tj, cj map[string]any) { model(tj)["dropout"] = 0.1 }, "dropout"},
		{"prefix", func(tj, cj map[string]any) { model(tj)["continuing_subword_prefix"] = "##" }, "continuing_subword_prefix"},
		{"suffix", func(tj, cj map[string]any) { model(tj)["end_of_word_suffix"] = "</w>" }, "end_of_word_suffix"},
		{"byte fallback", func(tj, cj map[string]any) { model(tj)["byte_fallback"] = true }, "byte_fallback"},
		{"ignore merges", func(tj, cj map[string]any) { model(tj)["ignore_merges"] = true }, "ignore_merges"},
		{"merge outside vocabulary", func(tj, cj map[string]any) {
			model(tj)["merges"] = []any{[]any{"b", "b"}}
		}, `"bb" is not in the vocabulary`},
		{"missing byte", func(tj, cj map[string]any) {
			delete(model(tj)["vocab"].(map[string]any), "Ġ")
		}, "byte 0x20"},
		{"not byte-level", func(tj, cj map[string]any) {
			model(tj)["vocab"].(map[string]any)["▁x"] = 300
		}, "byte-level alphabet"},
		{"lstrip", func(tj, cj map[string]any) { added(tj)["lstrip"] = true }, "lstrip"},
		{"normalized", func(tj, cj map[string]any) { added(tj)["normalized"] = true }, "normalized"},
		{"empty added token", func(tj, cj map[string]any) { added(tj)["content"] = "" }, "empty content"},
		{"clean up", func(tj, cj map[string]any) { cj["clean_up_tokenization_spaces"] = true }, "clean_up_tokenization_spaces"},
		{"split special", func(tj, cj map[string]any) { cj["split_special_tokens"] = true }, "split_special_tokens"},
		{"errors", func(tj, cj map[string]any) { cj["errors"] = "strict" }, "errors"},
		{"unknown eos", func(tj, cj map[string]any) { cj["eos_token"] = "</s>" }, `eos_token "</s>"`},
		{"added_tokens_decoder", func(tj, cj map[string]any) {
			cj["added_tokens_decoder"] = map[string]any{"7": map[string]any{"content": "<x>"}}
		}, "added_tokens_decoder"},
	}
	for _, c := range cases {
		tj, cj := tinyFiles()
		c.change(tj, cj)
		_, err := newTiny(t, tj, cj)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	tj, cj := tinyFiles()
	for name, content := range map[string]map[string]any{"tokenizer.json": tj, "tokenizer_config.json": cj} {
		data, err := json.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.EOS(); !ok || id != 260 {
		t.Errorf("EOS = %d, %v; want 260 from tokenizer_config.json", id, ok)
	}
	// Without tokenizer_config.json the tokenizer works and knows no EOS.
	if err := os.Remove(filepath.Join(dir, "tokenizer_config.json")); err != nil {
		t.Fatal(err)
	}
	if tok, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.EOS(); ok {
		t.Error("EOS without tokenizer_config.json")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("Load of an empty folder: error %v, want one naming tokenizer.json", err)
	}
}
