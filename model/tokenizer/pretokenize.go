package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// charClass is what the Qwen2 split pattern distinguishes about a character.
type charClass uint8

const (
	classOther   charClass = iota // none of the below: [^\s\p{L}\p{N}]
	classLetter                   // \p{L}
	classNumber                   // \p{N}
	classSpace                    // \s other than \r and \n
	classNewline                  // \r or \n
)

// asciiClass is classOf for ASCII, by table.
var asciiClass [utf8.RuneSelf]charClass

func init() {
	for r := range rune(utf8.RuneSelf) {
		asciiClass[r] = tableClass(r)
	}
}

// classOf returns the class of r under the JavaScript regular-expression semantics of the
// reference (see tables.go).
func classOf(r rune) charClass {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	return tableClass(r)
}

func tableClass(r rune) charClass {
	switch {
	case r == '\r' || r == '\n':
		return classNewline
	case unicode.Is(jsLetter, r):
		return classLetter
	case unicode.Is(jsNumber, r):
		return classNumber
	case unicode.Is(jsSpace, r):
		return classSpace
	}
	return classOther
}

// runeAt decodes the character at byte i of s, which must be valid UTF-8.
func runeAt(s string, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// nextPiece returns the end of the pre-token that starts at byte i < len(s) of s: the match of
// the Qwen2 pattern
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// at i, with the semantics of a backtracking engine: the first alternative that matches
// wins, and greedy quantifiers give back characters when what follows them fails. Every
// character matches some alternative, so the pieces tile s.
func nextPiece(s string, i int) int {
	r0, w0 := runeAt(s, i)
	c0 := classOf(r0)
	next := i + w0

	// (?i:'s|'t|'re|'ve|'m|'ll|'d), ASCII letters only.
	if r0 == '\'' {
		if n := contraction(s[next:]); n > 0 {
			return next + n
		}
	}

	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == classLetter {
		return runEnd(s, next, classLetter)
	}
	if (c0 == classOther || c0 == classSpace) && next < len(s) {
		if r1, w1 := runeAt(s, next); classOf(r1) == classLetter {
			return runEnd(s, next+w1, classLetter)
		}
	}

	// \p{N}
	if c0 == classNumber {
		return next
	}

	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if c0 == classOther {
		return runEnd(s, runEnd(s, next, classOther), classNewline)
	}
	if r0 == ' ' && next < len(s) {
		if r1, w1 := runeAt(s, next); classOf(r1) == classOther {
			return runEnd(s, runEnd(s, next+w1, classOther), classNewline)
		}
	}

	// Only white space starts here (c0 is classSpace or classNewline).
	end := spaceEnd(s, next)

	// \s*[\r\n]+: \s* gives back characters until a \r or \n follows it, so the match ends
	// after the last \r or \n of the run.
	if k := strings.LastIndexAny(s[i:end], "\r\n"); k >= 0 {
		return i + k + 1
	}

	// \s+(?!\S): the whole run at the end of the text; otherwise the run less its last
	// character (followed by white space, not \S), if that leaves one.
	if end == len(s) {
		return end
	}
	if _, size := utf8.DecodeLastRuneInString(s[i:end]); end-size > i {
		return end - size
	}

	// \s+
	return end
}

// contraction returns the length of the contraction suffix (s, t, re, ve, m, ll or d, in any
// ASCII case) at the start of rest, or 0.
func contraction(rest string) int {
	if len(rest) == 0 {
		return 0
	}
	// For these letters, b|0x20 lowercases exactly the upper- and lowercase ASCII forms.
	switch rest[0] | 0x20 {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(rest) > 1 && rest[1]|0x20 == 'e' {
			return 2
		}
	case 'l':
		if len(rest) > 1 && rest[1]|0x20 == 'l' {
			return 2
		}
	}
	return 0
}

// runEnd returns the end of the run of characters of class c that starts at byte i of s.
func runEnd(s string, i int, c charClass) int {
	for i < len(s) {
		r, w := runeAt(s, i)
		if classOf(r) != c {
			break
		}
		i += w
	}
	return i
}

// spaceEnd returns the end of the run of white space (\s, \r and \n included) that starts at
// byte i of s.
func spaceEnd(s string, i int) int {
	for i < len(s) {
		r, w := runeAt(s, i)
		if c := classOf(r); c != classSpace && c != classNewline {
			break
		}
		i += w
	}
	return i
}
