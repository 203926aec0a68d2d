// Package bpetrain learns a byte-level BPE vocabulary from a corpus and writes it as the
// tokenizer.json and tokenizer_config.json of a Qwen3 checkpoint: the same normalizer (NFC),
// pre-tokenizer (the Qwen2 split pattern, then ByteLevel), model (BPE with merges), decoder
// (ByteLevel) and special tokens (<|endoftext|>, <|im_start|>, <|im_end|>) as the real Qwen3
// files, only with a vocabulary fitted to the corpus. The files load in model/tokenizer and in
// Hugging Face's tokenizers.
//
// Training is the classic BPE of Sennrich et al. over pre-tokenized words: the corpus is cut
// around the special tokens and into pieces by tokenizer.PreTokenize (the encoder's own
// splitter, so merges never cross a piece boundary the encoder would keep), each piece starts
// as its bytes, and the most frequent adjacent pair is merged, again and again, until the
// vocabulary is full or no pair occurs twice. Ties go to the pair whose tokens sort first, so
// the result depends on the corpus only.
package bpetrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ltecli/model/tokenizer"
)

// Special tokens, given the ids after the BPE vocabulary in this order, as in Qwen3.
const (
	EndOfText = "<|endoftext|>" // pad_token
	IMStart   = "<|im_start|>"
	IMEnd     = "<|im_end|>" // eos_token
)

var specials = []string{EndOfText, IMStart, IMEnd}

// qwen2Pattern is the Split regex of Qwen2, Qwen2.5 and Qwen3's tokenizer.json.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Train learns a vocabulary of at most vocabSize tokens (the 256 byte tokens, the merged
// tokens and the three special tokens) from corpus and returns the tokenizer.json and
// tokenizer_config.json that describe it. The vocabulary is smaller when no adjacent pair is
// left that occurs at least twice. Special tokens in the corpus text are treated as such: no
// merge reaches into or across them.
func Train(corpus []string, vocabSize int) (tokenizerJSON, configJSON []byte, err error) {
	if minSize := 256 + len(specials); vocabSize < minSize {
		return nil, nil, fmt.Errorf("bpetrain: vocabulary size %d is below %d (256 bytes and %d special tokens)", vocabSize, minSize, len(specials))
	}
	v := newVocab()
	words := countWords(corpus, v)
	var merges [][2]string
	for len(v.tokens) < vocabSize-len(specials) {
		left, right, ok := bestPair(words, v)
		if !ok {
			break
		}
		merged := v.add(v.tokens[left] + v.tokens[right])
		merges = append(merges, [2]string{v.tokens[left], v.tokens[right]})
		for i := range words {
			words[i].symbols = applyMerge(words[i].symbols, left, right, merged)
		}
	}
	tokenizerJSON, err = encodeTokenizer(v, merges)
	if err != nil {
		return nil, nil, fmt.Errorf("bpetrain: %w", err)
	}
	configJSON, err = encodeConfig(len(v.tokens))
	if err != nil {
		return nil, nil, fmt.Errorf("bpetrain: %w", err)
	}
	return tokenizerJSON, configJSON, nil
}

// vocab is the growing BPE vocabulary: tokens[id] in byte-level spelling.
type vocab struct {
	tokens []string
	ids    map[string]int32
}

// newVocab returns the 256 byte tokens, ordered by their byte-level character as in GPT-2 and
// Qwen ("!" is id 0).
func newVocab() *vocab {
	v := &vocab{ids: map[string]int32{}}
	for b := range 256 {
		v.tokens = append(v.tokens, tokenizer.ByteLevel(string([]byte{byte(b)})))
	}
	slices.SortFunc(v.tokens, func(a, b string) int {
		ra, _ := utf8.DecodeRuneInString(a)
		rb, _ := utf8.DecodeRuneInString(b)
		return int(ra - rb)
	})
	for id, t := range v.tokens {
		v.ids[t] = int32(id)
	}
	return v
}

// add returns the id of token, adding it when new (two merges may spell the same token).
func (v *vocab) add(token string) int32 {
	if id, ok := v.ids[token]; ok {
		return id
	}
	id := int32(len(v.tokens))
	v.tokens = append(v.tokens, token)
	v.ids[token] = id
	return id
}

// word is a distinct pre-token piece: its current symbols and how often it occurs.
type word struct {
	symbols []int32
	count   int
}

// countWords cuts every text into pieces, around the special tokens, and returns the
// distinct pieces as sequences of v's byte tokens, in order of first occurrence.
func countWords(corpus []string, v *vocab) []word {
	index := map[string]int{}
	var words []word
	for _, text := range corpus {
		for _, segment := range splitSpecials(text) {
			for _, piece := range tokenizer.PreTokenize(segment) {
				if i, ok := index[piece]; ok {
					words[i].count++
					continue
				}
				index[piece] = len(words)
				spelled := tokenizer.ByteLevel(piece)
				symbols := make([]int32, 0, len(piece))
				for _, r := range spelled {
					symbols = append(symbols, v.ids[string(r)])
				}
				words = append(words, word{symbols: symbols, count: 1})
			}
		}
	}
	return words
}

// splitSpecials returns the stretches of text between special tokens.
func splitSpecials(text string) []string {
	segments := []string{text}
	for _, s := range specials {
		var next []string
		for _, seg := range segments {
			next = append(next, strings.Split(seg, s)...)
		}
		segments = next
	}
	return segments
}

// bestPair returns the most frequent adjacent pair of symbols over all words, the pair whose
// tokens sort first among equals; false when no pair occurs twice.
func bestPair(words []word, v *vocab) (left, right int32, ok bool) {
	counts := map[[2]int32]int{}
	for _, w := range words {
		for i := 0; i+1 < len(w.symbols); i++ {
			counts[[2]int32{w.symbols[i], w.symbols[i+1]}] += w.count
		}
	}
	best, bestCount := [2]int32{}, 1
	for pair, n := range counts {
		if n > bestCount || (n == bestCount && ok && lessPair(pair, best, v)) {
			best, bestCount, ok = pair, n, true
		}
	}
	return best[0], best[1], ok
}

// lessPair orders pairs by their tokens' spelling.
func lessPair(a, b [2]int32, v *vocab) bool {
	if c := strings.Compare(v.tokens[a[0]], v.tokens[b[0]]); c != 0 {
		return c < 0
	}
	return v.tokens[a[1]] < v.tokens[b[1]]
}

// applyMerge replaces each occurrence of left followed by right, scanning left to right, with
// merged.
func applyMerge(symbols []int32, left, right, merged int32) []int32 {
	out := symbols[:0]
	for i := 0; i < len(symbols); i++ {
		if i+1 < len(symbols) && symbols[i] == left && symbols[i+1] == right {
			out = append(out, merged)
			i++
			continue
		}
		out = append(out, symbols[i])
	}
	return out
}

// orderedVocab marshals a vocabulary as a JSON object in id order, as tokenizer.json lists it.
type orderedVocab []string

func (o orderedVocab) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for id, token := range o {
		if id > 0 {
			b.WriteByte(',')
		}
		key, err := marshal(token)
		if err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(key, []byte("\n")))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// addedToken is an entry of added_tokens (tokenizer.json) and added_tokens_decoder
// (tokenizer_config.json, which omits the id).
type addedToken struct {
	ID         *int   `json:"id,omitempty"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// byteLevel is the ByteLevel pre-tokenizer, post-processor and decoder of Qwen3.
type byteLevel struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       bool   `json:"use_regex"`
}

type split struct {
	Type    string `json:"type"`
	Pattern struct {
		Regex string `json:"Regex"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
}

type bpeModel struct {
	Type                    string       `json:"type"`
	Dropout                 *float64     `json:"dropout"`
	UnkToken                *string      `json:"unk_token"`
	ContinuingSubwordPrefix string       `json:"continuing_subword_prefix"`
	EndOfWordSuffix         string       `json:"end_of_word_suffix"`
	FuseUnk                 bool         `json:"fuse_unk"`
	ByteFallback            bool         `json:"byte_fallback"`
	IgnoreMerges            bool         `json:"ignore_merges"`
	Vocab                   orderedVocab `json:"vocab"`
	Merges                  [][2]string  `json:"merges"`
}

// tokenizerFile is tokenizer.json, its fields in the order Hugging Face writes them.
type tokenizerFile struct {
	Version     string       `json:"version"`
	Truncation  *struct{}    `json:"truncation"`
	Padding     *struct{}    `json:"padding"`
	AddedTokens []addedToken `json:"added_tokens"`
	Normalizer  struct {
		Type string `json:"type"`
	} `json:"normalizer"`
	PreTokenizer struct {
		Type          string `json:"type"`
		Pretokenizers []any  `json:"pretokenizers"`
	} `json:"pre_tokenizer"`
	PostProcessor byteLevel `json:"post_processor"`
	Decoder       byteLevel `json:"decoder"`
	Model         bpeModel  `json:"model"`
}

func encodeTokenizer(v *vocab, merges [][2]string) ([]byte, error) {
	level := byteLevel{Type: "ByteLevel"}
	f := tokenizerFile{Version: "1.0", PostProcessor: level, Decoder: level}
	for i, s := range specials {
		id := len(v.tokens) + i
		f.AddedTokens = append(f.AddedTokens, addedToken{ID: &id, Content: s, Special: true})
	}
	f.Normalizer.Type = "NFC"
	sp := split{Type: "Split", Behavior: "Isolated"}
	sp.Pattern.Regex = qwen2Pattern
	f.PreTokenizer.Type = "Sequence"
	f.PreTokenizer.Pretokenizers = []any{sp, level}
	f.Model = bpeModel{Type: "BPE", Vocab: orderedVocab(v.tokens), Merges: merges}
	if f.Model.Merges == nil {
		f.Model.Merges = [][2]string{}
	}
	return marshal(f)
}

// configFile is tokenizer_config.json, keys sorted as Hugging Face writes them.
type configFile struct {
	AddBOSToken             bool                  `json:"add_bos_token"`
	AddPrefixSpace          bool                  `json:"add_prefix_space"`
	AddedTokensDecoder      map[string]addedToken `json:"added_tokens_decoder"`
	AdditionalSpecialTokens []string              `json:"additional_special_tokens"`
	BOSToken                *string               `json:"bos_token"`
	ChatTemplate            string                `json:"chat_template"`
	CleanUpSpaces           bool                  `json:"clean_up_tokenization_spaces"`
	EOSToken                string                `json:"eos_token"`
	Errors                  string                `json:"errors"`
	PadToken                string                `json:"pad_token"`
	SplitSpecialTokens      bool                  `json:"split_special_tokens"`
	TokenizerClass          string                `json:"tokenizer_class"`
	UnkToken                *string               `json:"unk_token"`
}

// chatTemplate is ChatML, the turn format of Qwen's chat models, without tools or thinking.
const chatTemplate = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

func encodeConfig(modelTokens int) ([]byte, error) {
	c := configFile{
		AddedTokensDecoder:      map[string]addedToken{},
		AdditionalSpecialTokens: []string{IMStart, IMEnd},
		ChatTemplate:            chatTemplate,
		EOSToken:                IMEnd,
		Errors:                  "replace",
		PadToken:                EndOfText,
		TokenizerClass:          "Qwen2Tokenizer",
	}
	for i, s := range specials {
		c.AddedTokensDecoder[strconv.Itoa(modelTokens+i)] = addedToken{Content: s, Special: true}
	}
	return marshal(c)
}

// marshal writes JSON indented by two spaces, with no HTML escaping (tokens such as "<|im_end|>"
// stay readable), and a final newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
