package tokenizer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer turns text into token ids and back. Build one with Load, LoadFiles or New.
// All methods are safe for concurrent use.
type Tokenizer struct {
	// vocab[id] is the vocabulary form of token id (byte-level characters for model tokens,
	// the content for added tokens), "" where no token has that id.
	vocab []string
	// ids maps the vocabulary form of every token to its id.
	ids map[string]int
	// text[id] is the decoded bytes of token id: the raw bytes of a model token, the content
	// of an added token.
	text []string
	// kind[id] says whether id is a model token, an added token or a special token.
	kind []tokenKind

	// added holds the added tokens, longest first, so the first match at a position is the
	// longest; startsAdded[b] says whether some added token begins with byte b.
	added       []addedMatch
	startsAdded [256]bool

	// nfc says whether text between added tokens is normalized to NFC.
	nfc bool

	// byteID[b] is the id of the single-byte token of byte b.
	byteID [256]int32
	// merges maps a pair of adjacent token ids (mergeKey) to the merge's rank and result.
	merges map[uint64]merge

	eos, bos, pad int // -1 when tokenizer_config.json names none

	cache pieceCache
}

// tokenKind classifies an id.
type tokenKind uint8

const (
	kindNone    tokenKind = iota // no token has this id
	kindModel                    // a token of the BPE model's vocabulary
	kindAdded                    // an added token (matched whole in raw text)
	kindSpecial                  // an added token marked special
)

// addedMatch is an added token as the encoder looks for it.
type addedMatch struct {
	content string
	id      int
}

// merge is one BPE merge: its rank (lower merges first) and the id of the merged token.
type merge struct {
	rank int32
	id   int32
}

// mergeKey packs a pair of adjacent token ids into a map key.
func mergeKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// build assembles a Tokenizer from checked files.
func build(f *tokenizerFile, c *configFile) (*Tokenizer, error) {
	size := 0
	for _, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("vocabulary id %d is negative", id)
		}
		size = max(size, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t := &Tokenizer{
		vocab:  make([]string, size),
		ids:    make(map[string]int, len(f.Model.Vocab)+len(f.AddedTokens)),
		text:   make([]string, size),
		kind:   make([]tokenKind, size),
		nfc:    f.Normalizer != nil,
		merges: make(map[uint64]merge),
	}
	for token, id := range f.Model.Vocab {
		if t.kind[id] != kindNone {
			return nil, fmt.Errorf("vocabulary has id %d twice (%q and %q)", id, t.vocab[id], token)
		}
		raw, ok := fromByteLevel(token)
		if !ok {
			return nil, fmt.Errorf("vocabulary token %q (id %d) is not in the byte-level alphabet", token, id)
		}
		t.vocab[id], t.text[id], t.kind[id] = token, raw, kindModel
		t.ids[token] = id
	}
	for _, a := range f.AddedTokens {
		if t.kind[a.ID] == kindModel && t.vocab[a.ID] != a.Content {
			return nil, fmt.Errorf("added token %q has id %d of vocabulary token %q", a.Content, a.ID, t.vocab[a.ID])
		}
		if t.kind[a.ID] >= kindAdded {
			return nil, fmt.Errorf("added tokens %q and %q share id %d", t.vocab[a.ID], a.Content, a.ID)
		}
		if other, ok := t.ids[a.Content]; ok && other != a.ID {
			return nil, fmt.Errorf("added token %q has id %d but the vocabulary gives it %d", a.Content, a.ID, other)
		}
		t.vocab[a.ID], t.text[a.ID], t.kind[a.ID] = a.Content, a.Content, kindAdded
		if a.Special {
			t.kind[a.ID] = kindSpecial
		}
		t.ids[a.Content] = a.ID
		t.added = append(t.added, addedMatch{content: a.Content, id: a.ID})
		t.startsAdded[a.Content[0]] = true
	}
	slices.SortStableFunc(t.added, func(a, b addedMatch) int { return len(b.content) - len(a.content) })

	for b := range 256 {
		id, ok := t.ids[string(byteLevelRune[b])]
		if !ok || t.kind[id] != kindModel {
			return nil, fmt.Errorf("vocabulary lacks the token of byte 0x%02x (%q)", b, byteLevelRune[b])
		}
		t.byteID[b] = int32(id)
	}
	if err := t.buildMerges(f.Model.Merges); err != nil {
		return nil, err
	}
	if err := t.applyConfig(c); err != nil {
		return nil, fmt.Errorf("tokenizer_config.json: %w", err)
	}
	t.cache.init()
	return t, nil
}

// buildMerges reads the merges into t.merges, checking that every part and result is a
// vocabulary token.
func (t *Tokenizer) buildMerges(raw []byte) error {
	pairs, err := parseMerges(raw)
	if err != nil {
		return err
	}
	lookup := func(rank int, token string) (int32, error) {
		id, ok := t.ids[token]
		if !ok || t.kind[id] != kindModel {
			return 0, fmt.Errorf("merge %d (%q %q): %q is not in the vocabulary", rank, pairs[rank][0], pairs[rank][1], token)
		}
		return int32(id), nil
	}
	for rank, p := range pairs {
		left, err := lookup(rank, p[0])
		if err != nil {
			return err
		}
		right, err := lookup(rank, p[1])
		if err != nil {
			return err
		}
		merged, err := lookup(rank, p[0]+p[1])
		if err != nil {
			return err
		}
		key := mergeKey(left, right)
		if _, dup := t.merges[key]; !dup { // the first (lowest) rank of a repeated pair wins
			t.merges[key] = merge{rank: int32(rank), id: merged}
		}
	}
	return nil
}

// applyConfig resolves the special tokens that tokenizer_config.json names and checks that
// its added_tokens_decoder agrees with tokenizer.json.
func (t *Tokenizer) applyConfig(c *configFile) error {
	resolve := func(field string, name tokenName) (int, error) {
		if name == "" {
			return -1, nil
		}
		id, ok := t.ids[string(name)]
		if !ok {
			return 0, fmt.Errorf("%s %q is not a token", field, name)
		}
		return id, nil
	}
	var err error
	if t.eos, err = resolve("eos_token", c.EOS); err != nil {
		return err
	}
	if t.bos, err = resolve("bos_token", c.BOS); err != nil {
		return err
	}
	if t.pad, err = resolve("pad_token", c.PAD); err != nil {
		return err
	}
	for _, name := range c.AdditionalSpecial {
		id, err := resolve("additional_special_tokens entry", name)
		if err != nil {
			return err
		}
		if t.kind[id] < kindAdded {
			return fmt.Errorf("additional special token %q is not an added token of tokenizer.json", name)
		}
		t.kind[id] = kindSpecial
	}
	for key, a := range c.AddedTokensDecoder {
		id, err := strconv.Atoi(key)
		if err != nil || id < 0 || id >= len(t.kind) || t.kind[id] < kindAdded || t.vocab[id] != a.Content {
			return fmt.Errorf("added_tokens_decoder entry %s %q is not an added token of tokenizer.json with that id", key, a.Content)
		}
	}
	return nil
}

// VocabSize returns one more than the largest token id: ids run over [0, VocabSize()).
// (A model's embedding table may be larger; ids beyond VocabSize have no text.)
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// TokenID returns the id of a token given in its vocabulary form: byte-level characters for
// model tokens ("Ġthe" for " the"), the content for added tokens ("<|im_end|>").
func (t *Tokenizer) TokenID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// Token returns the vocabulary form of id (see TokenID), or false when no token has that id.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.kind) || t.kind[id] == kindNone {
		return "", false
	}
	return t.vocab[id], true
}

// EOS returns the id of tokenizer_config.json's eos_token (<|im_end|> for Qwen3), or false
// when it names none.
func (t *Tokenizer) EOS() (int, bool) { return t.eos, t.eos >= 0 }

// BOS returns the id of tokenizer_config.json's bos_token, or false when it names none (as
// Qwen3's does).
func (t *Tokenizer) BOS() (int, bool) { return t.bos, t.bos >= 0 }

// PAD returns the id of tokenizer_config.json's pad_token (<|endoftext|> for Qwen3), or false
// when it names none.
func (t *Tokenizer) PAD() (int, bool) { return t.pad, t.pad >= 0 }

// IsSpecial reports whether id is a special token: an added token marked special in
// tokenizer.json or listed in tokenizer_config.json's additional_special_tokens.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.kind) && t.kind[id] == kindSpecial
}

// SpecialIDs returns the ids of the special tokens (see IsSpecial) in increasing order.
func (t *Tokenizer) SpecialIDs() []int {
	var ids []int
	for id, k := range t.kind {
		if k == kindSpecial {
			ids = append(ids, id)
		}
	}
	return ids
}

// Encode returns the token ids of text. Added tokens in the text (<|im_start|>, <think>, ...)
// become their ids; nothing else is added (no BOS, no EOS). Invalid UTF-8 in text is first
// replaced by U+FFFD, one for each maximal invalid subsequence, as a UTF-8 decoder would.
// The result is never nil.
func (t *Tokenizer) Encode(text string) []int {
	if !utf8.ValidString(text) {
		text = string(appendLossy(nil, []byte(text)))
	}
	ids := make([]int, 0, len(text)/3+1)
	start := 0 // the start of the text not yet encoded
	for i := 0; i < len(text); {
		if t.startsAdded[text[i]] {
			if id, n := t.addedAt(text[i:]); n > 0 {
				ids = t.appendSegment(ids, text[start:i])
				ids = append(ids, id)
				i += n
				start = i
				continue
			}
		}
		i++
	}
	return t.appendSegment(ids, text[start:])
}

// addedAt returns the id and length of the longest added token that text begins with, or a
// length of 0.
func (t *Tokenizer) addedAt(text string) (id, n int) {
	for _, a := range t.added { // longest first
		if strings.HasPrefix(text, a.content) {
			return a.id, len(a.content)
		}
	}
	return 0, 0
}

// appendSegment appends the ids of text that contains no added token.
func (t *Tokenizer) appendSegment(ids []int, segment string) []int {
	if t.nfc {
		segment = norm.NFC.String(segment)
	}
	for i := 0; i < len(segment); {
		end := nextPiece(segment, i)
		ids = t.appendPiece(ids, segment[i:end])
		i = end
	}
	return ids
}
