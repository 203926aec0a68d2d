package verify

import "strings"

// tokKind is the class of a lexical token of a normalised answer.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tNum            // decimal literal: text holds digits with an optional point, exp a power of ten
	tLetter         // one ASCII letter
	tCmd            // backslash command or recognised function word, text without the backslash
	tSym            // punctuation or operator: + - * / ^ _ ! ' , ; : | & ( ) [ ] { } % pm mp cup cap
	tRel            // relation: = ~ < <= > >= != in
	tLSet           // \{
	tRSet           // \}
	tRow            // \\ (matrix row separator)
)

// token is one lexical unit. exp is the decimal exponent of a tNum written in e-notation.
type token struct {
	kind tokKind
	text string
	exp  int
}

// relCommands maps relation commands to their canonical relation text.
var relCommands = map[string]string{
	"le": "<=", "leq": "<=", "leqslant": "<=", "leqq": "<=",
	"ge": ">=", "geq": ">=", "geqslant": ">=", "geqq": ">=",
	"lt": "<", "gt": ">", "ne": "!=", "neq": "!=",
	"approx": "~", "simeq": "~", "thickapprox": "~", "eq": "=", "equiv": "=",
	"in": "in",
}

// symCommands maps operator and delimiter commands to the punctuation they stand for.
var symCommands = map[string]string{
	"times": "*", "cdot": "*", "ast": "*", "div": "/",
	"pm": "pm", "mp": "mp", "cup": "cup", "cap": "cap", "setminus": "setminus",
	"lvert": "|", "rvert": "|", "vert": "|", "mid": "|", "lVert": "|", "rVert": "|", "Vert": "|",
	"langle": "(", "rangle": ")", "lbrack": "[", "rbrack": "]", "colon": ":",
}

// wordFunctions are plain-letter names read as one command rather than a product of letters.
var wordFunctions = map[string]string{
	"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
	"arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh", "cosh": "cosh",
	"tanh": "tanh", "ln": "ln", "log": "log", "exp": "exp", "sqrt": "sqrt", "gcd": "gcd",
	"lcm": "lcm", "max": "max", "min": "min", "abs": "abs", "floor": "floor", "ceil": "ceil",
	"pi": "pi", "inf": "infty", "infty": "infty", "infinity": "infty", "oo": "infty",
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// lex splits a normalised answer into tokens. It returns false when the text holds a
// character no answer grammar uses, or more than maxTokens tokens.
func lex(s string) ([]token, bool) {
	toks := make([]token, 0, len(s)/2+1)
	for i := 0; i < len(s); {
		if len(toks) > maxTokens {
			return nil, false
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			t, n := lexNumber(s[i:])
			toks = append(toks, t)
			i += n
		case isLetter(c):
			j := i
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			run := s[i:j]
			if name, ok := wordFunctions[run]; ok {
				toks = append(toks, token{kind: tCmd, text: name})
			} else {
				for k := i; k < j; k++ {
					toks = append(toks, token{kind: tLetter, text: s[k : k+1]})
				}
			}
			i = j
		case c == '\\':
			t, n, ok := lexCommand(s[i:])
			if !ok {
				return nil, false
			}
			if t.kind != tEOF {
				toks = append(toks, t)
			}
			i += n
		case c == '<' || c == '>' || c == '!' || c == '=':
			if i+1 < len(s) && s[i+1] == '=' && c != '=' {
				toks = append(toks, token{kind: tRel, text: s[i : i+2]})
				i += 2
				continue
			}
			if c == '!' {
				toks = append(toks, token{kind: tSym, text: "!"})
			} else {
				toks = append(toks, token{kind: tRel, text: s[i : i+1]})
			}
			i++
		case strings.IndexByte("+-*/^_',;:|&()[]{}%", c) >= 0:
			toks = append(toks, token{kind: tSym, text: s[i : i+1]})
			i++
		default:
			return nil, false
		}
	}
	return append(toks, token{kind: tEOF}), true
}

// lexNumber reads a decimal literal with an optional e-notation exponent at the start of s.
func lexNumber(s string) (token, int) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' && i+1 < len(s) && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	t := token{kind: tNum, text: s[:i]}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j && k-j <= 6 && (k == len(s) || !isLetter(s[k])) {
			exp := 0
			for _, d := range s[j:k] {
				exp = exp*10 + int(d-'0')
			}
			if s[i+1] == '-' {
				exp = -exp
			}
			t.exp = exp
			i = k
		}
	}
	return t, i
}

// lexCommand reads a backslash command at the start of s. A token of kind tEOF means the
// command is dropped (spacing).
func lexCommand(s string) (token, int, bool) {
	if len(s) < 2 {
		return token{}, len(s), true
	}
	c := s[1]
	if !isLetter(c) {
		switch c {
		case '{':
			return token{kind: tLSet}, 2, true
		case '}':
			return token{kind: tRSet}, 2, true
		case '\\':
			return token{kind: tRow}, 2, true
		case '|':
			return token{kind: tSym, text: "|"}, 2, true
		case '%':
			return token{kind: tSym, text: "%"}, 2, true
		case ',', ';', ':', '!', ' ', '>', '$':
			return token{}, 2, true
		}
		return token{}, 0, false
	}
	j := 1
	for j < len(s) && isLetter(s[j]) {
		j++
	}
	name := s[1:j]
	if rel, ok := relCommands[name]; ok {
		return token{kind: tRel, text: rel}, j, true
	}
	if sym, ok := symCommands[name]; ok {
		return token{kind: tSym, text: sym}, j, true
	}
	switch name {
	case "lbrace":
		return token{kind: tLSet}, j, true
	case "rbrace":
		return token{kind: tRSet}, j, true
	case "quad", "qquad":
		return token{}, j, true
	}
	return token{kind: tCmd, text: name}, j, true
}
