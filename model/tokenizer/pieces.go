package tokenizer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// PreTokenize returns the pieces that Encode merges within, for text that holds no added
// token: the text with invalid UTF-8 replaced as Encode replaces it, normalized to NFC (the
// normalizer of Qwen's tokenizer.json) and cut by the Qwen2 split pattern. The pieces
// concatenate to the normalized text. A BPE trainer counts these pieces, so that it learns
// merges for exactly the words the encoder will see.
func PreTokenize(text string) []string {
	if !utf8.ValidString(text) {
		text = string(appendLossy(nil, []byte(text)))
	}
	text = norm.NFC.String(text)
	var pieces []string
	for i := 0; i < len(text); {
		end := nextPiece(text, i)
		pieces = append(pieces, text[i:end])
		i = end
	}
	return pieces
}

// ByteLevel returns s with each byte written as the character that stands for it in a
// byte-level vocabulary (GPT-2's alphabet: "Ġ" for a space, "Ċ" for a newline): the spelling
// of those bytes as a token of tokenizer.json.
func ByteLevel(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := range len(s) {
		b.WriteRune(byteLevelRune[s[i]])
	}
	return b.String()
}
