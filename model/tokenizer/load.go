package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// qwen2Pattern is the Split pattern of Qwen2, Qwen2.5 and Qwen3, the only one the scanner in
// pretokenize.go implements.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Load reads dir/tokenizer.json and, when present, dir/tokenizer_config.json (the files of a
// Hugging Face checkpoint folder) and builds the tokenizer they describe. It refuses files that
// use features this package does not implement.
func Load(dir string) (*Tokenizer, error) {
	configPath := filepath.Join(dir, "tokenizer_config.json")
	if _, err := os.Stat(configPath); errors.Is(err, fs.ErrNotExist) {
		configPath = ""
	}
	return LoadFiles(filepath.Join(dir, "tokenizer.json"), configPath)
}

// LoadFiles builds a tokenizer from a tokenizer.json file and a tokenizer_config.json file;
// configPath "" means there is none (then EOS, BOS and PAD are unknown).
func LoadFiles(tokenizerPath, configPath string) (*Tokenizer, error) {
	tokenizerJSON, err := os.ReadFile(tokenizerPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var configJSON []byte
	if configPath != "" {
		if configJSON, err = os.ReadFile(configPath); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	tok, err := New(tokenizerJSON, configJSON)
	if err != nil {
		files := tokenizerPath
		if configPath != "" {
			files += " and " + configPath
		}
		return nil, fmt.Errorf("%w (reading %s)", err, files)
	}
	return tok, nil
}

// tokenizerFile is the part of tokenizer.json that this package reads.
type tokenizerFile struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    *component      `json:"normalizer"`
	PreTokenizer  *component      `json:"pre_tokenizer"`
	PostProcessor *component      `json:"post_processor"`
	Decoder       *component      `json:"decoder"`
	Model         *bpeModel       `json:"model"`
}

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// component is a normalizer, pre-tokenizer, post-processor or decoder: the union of the
// fields of the kinds this package accepts.
type component struct {
	Type          string      `json:"type"`
	Pretokenizers []component `json:"pretokenizers"`
	Normalizers   []component `json:"normalizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

// bpeModel is tokenizer.json's model.
type bpeModel struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// configFile is the part of tokenizer_config.json that this package reads.
type configFile struct {
	EOS                  tokenName             `json:"eos_token"`
	BOS                  tokenName             `json:"bos_token"`
	PAD                  tokenName             `json:"pad_token"`
	AdditionalSpecial    []tokenName           `json:"additional_special_tokens"`
	AddedTokensDecoder   map[string]addedToken `json:"added_tokens_decoder"`
	CleanUpSpaces        bool                  `json:"clean_up_tokenization_spaces"`
	SplitSpecialTokens   bool                  `json:"split_special_tokens"`
	RemoveSpace          bool                  `json:"remove_space"`
	LowercaseAndNoAccent bool                  `json:"do_lowercase_and_remove_accent"`
	Errors               string                `json:"errors"`
}

// tokenName is a token named in tokenizer_config.json: null, a string, or an AddedToken object.
type tokenName string

// UnmarshalJSON accepts null, "content" and {"content": ...}.
func (n *tokenName) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*n = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = tokenName(s)
		return nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(data, &obj); err != nil || obj.Content == nil {
		return fmt.Errorf("token %s is neither a string nor an object with content", data)
	}
	*n = tokenName(*obj.Content)
	return nil
}

// New builds a tokenizer from the contents of tokenizer.json and tokenizer_config.json
// (configJSON nil means there is none). It refuses features this package does not implement,
// among them the tokenizer_config.json options that would change the text when set
// (clean_up_tokenization_spaces, split_special_tokens, remove_space,
// do_lowercase_and_remove_accent); an absent option counts as unset.
func New(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	var file tokenizerFile
	if err := json.Unmarshal(tokenizerJSON, &file); err != nil {
		return nil, fmt.Errorf("tokenizer: parsing tokenizer.json: %w", err)
	}
	var config configFile
	if configJSON != nil {
		if err := json.Unmarshal(configJSON, &config); err != nil {
			return nil, fmt.Errorf("tokenizer: parsing tokenizer_config.json: %w", err)
		}
	}
	if err := checkPipeline(&file); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	if err := checkConfig(&config); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer_config.json: %w", err)
	}
	tok, err := build(&file, &config)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return tok, nil
}

// unsupported is the error for a feature this package does not implement.
func unsupported(what string, value any) error {
	return fmt.Errorf("%s %v is not supported (this tokenizer implements the byte-level BPE of Qwen2/Qwen3 only)", what, value)
}

// checkPipeline refuses every part of tokenizer.json that would make the tokenizer behave
// differently from the pipeline this package implements.
func checkPipeline(f *tokenizerFile) error {
	if f.Version != "1.0" {
		return unsupported("version", strconv.Quote(f.Version))
	}
	if !isNull(f.Truncation) {
		return unsupported("truncation", string(f.Truncation))
	}
	if !isNull(f.Padding) {
		return unsupported("padding", string(f.Padding))
	}
	if n := f.Normalizer; n != nil && n.Type != "NFC" {
		return unsupported("normalizer", strconv.Quote(n.Type))
	}
	if err := checkPreTokenizer(f.PreTokenizer); err != nil {
		return err
	}
	if p := f.PostProcessor; p != nil && p.Type != "ByteLevel" {
		return unsupported("post_processor", strconv.Quote(p.Type))
	}
	if f.Decoder == nil {
		return unsupported("decoder", "null")
	}
	if f.Decoder.Type != "ByteLevel" {
		return unsupported("decoder", strconv.Quote(f.Decoder.Type))
	}
	m := f.Model
	switch {
	case m == nil:
		return errors.New("model is missing")
	case m.Type != "BPE":
		return unsupported("model", strconv.Quote(m.Type))
	case m.Dropout != nil:
		return unsupported("BPE dropout", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return unsupported("BPE continuing_subword_prefix", strconv.Quote(*m.ContinuingSubwordPrefix))
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return unsupported("BPE end_of_word_suffix", strconv.Quote(*m.EndOfWordSuffix))
	case m.ByteFallback:
		return unsupported("BPE byte_fallback", true)
	case m.IgnoreMerges:
		return unsupported("BPE ignore_merges", true)
	}
	for _, a := range f.AddedTokens {
		switch {
		case a.Content == "":
			return fmt.Errorf("added token %d has empty content", a.ID)
		case a.SingleWord, a.LStrip, a.RStrip:
			return unsupported(fmt.Sprintf("added token %q with single_word/lstrip/rstrip", a.Content), true)
		case a.Normalized:
			return unsupported(fmt.Sprintf("added token %q with normalized", a.Content), true)
		}
	}
	return nil
}

// checkPreTokenizer accepts exactly Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(no
// prefix space, no regex)].
func checkPreTokenizer(p *component) error {
	if p == nil {
		return unsupported("pre_tokenizer", "null")
	}
	if p.Type != "Sequence" || len(p.Pretokenizers) != 2 {
		return unsupported("pre_tokenizer", describe(p))
	}
	split, byteLevel := p.Pretokenizers[0], p.Pretokenizers[1]
	switch {
	case split.Type != "Split":
		return unsupported("pre_tokenizer", describe(p))
	case split.Pattern == nil || split.Pattern.Regex == nil:
		return unsupported("Split pattern", "other than a regex")
	case *split.Pattern.Regex != qwen2Pattern:
		return unsupported("Split regex", strconv.Quote(*split.Pattern.Regex))
	case split.Behavior != "Isolated":
		return unsupported("Split behavior", strconv.Quote(split.Behavior))
	case split.Invert:
		return unsupported("Split invert", true)
	case byteLevel.Type != "ByteLevel":
		return unsupported("pre_tokenizer", describe(p))
	case byteLevel.AddPrefixSpace:
		return unsupported("ByteLevel add_prefix_space", true)
	case byteLevel.UseRegex == nil || *byteLevel.UseRegex:
		return unsupported("ByteLevel use_regex", true)
	}
	return nil
}

// describe names a component and its children, for error messages.
func describe(c *component) string {
	var kids []string
	for i := range c.Pretokenizers {
		kids = append(kids, describe(&c.Pretokenizers[i]))
	}
	if len(kids) == 0 {
		return strconv.Quote(c.Type)
	}
	return fmt.Sprintf("%q[%s]", c.Type, strings.Join(kids, ", "))
}

// checkConfig refuses tokenizer_config.json options that change encoding or decoding.
func checkConfig(c *configFile) error {
	switch {
	case c.CleanUpSpaces:
		return unsupported("clean_up_tokenization_spaces", true)
	case c.SplitSpecialTokens:
		return unsupported("split_special_tokens", true)
	case c.RemoveSpace:
		return unsupported("remove_space", true)
	case c.LowercaseAndNoAccent:
		return unsupported("do_lowercase_and_remove_accent", true)
	case c.Errors != "" && c.Errors != "replace":
		return unsupported("errors", strconv.Quote(c.Errors))
	}
	return nil
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null"))
}

// parseMerges reads BPE merges in either format of tokenizer.json: ["a b", ...] (tokenizers
// before 0.20) or [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	trimmed := bytes.TrimSpace(raw)
	if isNull(trimmed) {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(trimmed, &pairs); err == nil {
		return pairs, nil
	}
	var joined []string
	if err := json.Unmarshal(trimmed, &joined); err != nil {
		return nil, fmt.Errorf("merges are neither [\"a b\", ...] nor [[\"a\", \"b\"], ...]: %w", err)
	}
	pairs = make([][2]string, len(joined))
	for i, m := range joined {
		left, right, ok := strings.Cut(m, " ")
		if !ok || strings.Contains(right, " ") {
			return nil, fmt.Errorf("merge %d %q is not two tokens separated by one space", i, m)
		}
		pairs[i] = [2]string{left, right}
	}
	return pairs, nil
}
