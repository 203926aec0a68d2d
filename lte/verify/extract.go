package verify

import (
	"regexp"
	"strings"
)

// Extract returns the final answer of a model response, as written (not normalised).
//
// When the response closes a think block, only the text after the last </think> is
// searched: an answer given only while thinking is no answer. The answer is, in order of
// preference:
//  1. the content of the last \boxed{...} (or \fbox, \framebox; nested braces, "\boxed 7",
//     a box inside a box). Boxes directly before it, separated by at most a few characters
//     or by a short "and"/comma phrase, join it as a list: "\boxed{1} and \boxed{2}";
//  2. what follows the last "answer" that is followed by "is", ":", "=" or a math
//     delimiter ("The final answer is $5$", "Answer: 5"), or the last "####" marker;
//     such a phrase after the last box wins over the box when it holds a number;
//  3. the last math span ($...$, $$...$$, \(...\), \[...\]) or number in the text, whichever
//     ends later.
//
// ok is false when nothing answer-like is found.
func Extract(response string) (string, bool) {
	s := tail(response, maxResponseBytes)
	if i := strings.LastIndex(s, "</think>"); i >= 0 {
		return extractFrom(s[i+len("</think>"):])
	}
	return extractFrom(s)
}

// extractFrom prefers the last box, unless an answer phrase with a number follows it.
func extractFrom(s string) (string, bool) {
	boxed, boxEnd, hasBox := boxedAnswer(s)
	rest := s[boxEnd:]
	phrase, at, ok := phraseAnswer(rest)
	if k := strings.LastIndex(rest, "####"); k >= 0 && (!ok || k > at) {
		if a, found := answerInPhrase(strings.TrimLeft(rest[k+4:], " #")); found {
			phrase, ok = a, true
		}
	}
	if ok && (!hasBox || strings.ContainsAny(phrase, "0123456789")) {
		return phrase, true
	}
	if hasBox {
		return boxed, true
	}
	return lastAnswerIn(s)
}

// tail keeps the last n bytes of s, starting at a character boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return s[i:]
}

// LastBoxed returns the content of the last top-level \boxed{...} (or \fbox, \framebox) of s,
// without joining neighbouring boxes. ok is false when s has no box.
func LastBoxed(s string) (string, bool) {
	bs := boxes(s)
	if len(bs) == 0 {
		return "", false
	}
	return bs[len(bs)-1].content, true
}

// box is one top-level box: [start, end) spans the command and its argument.
type box struct {
	start, end int
	content    string
}

var boxCommands = [3]string{`\boxed`, `\fbox`, `\framebox`}

// maxOptionalArg bounds the optional argument of a box command, \framebox[2cm]{...}.
const maxOptionalArg = 32

// boxes returns the top-level, non-empty boxes of s in order.
func boxes(s string) []box {
	out, _ := scanBoxes(s)
	return out
}

// scanBoxes is boxes, also returning the number of bytes it examined. Each command's next
// occurrence is remembered and searched for again only once the scan has passed it, so a
// text full of boxes is read a bounded number of times: an unclosed box takes the rest of s
// and ends the scan, and the work is linear in len(s).
func scanBoxes(s string) (out []box, scanned int) {
	var next [3]int // next occurrence of boxCommands[c] from where it was last searched; len(s): none
	for c := range next {
		next[c] = -1
	}
	for i := 0; i < len(s); {
		start, name := -1, ""
		for c, cmd := range boxCommands {
			if next[c] < i && next[c] != len(s) {
				j := strings.Index(s[i:], cmd)
				if j < 0 {
					next[c] = len(s)
					scanned += len(s) - i
				} else {
					next[c] = i + j
					scanned += j + len(cmd)
				}
			}
			if next[c] < len(s) && (start < 0 || next[c] < start) {
				start, name = next[c], cmd
			}
		}
		if start < 0 {
			break
		}
		k := start + len(name)
		if k < len(s) && isLetter(s[k]) {
			i = k
			continue
		}
		b, closed := readBox(s, start, k)
		scanned += b.end - start
		b.content = unwrapBoxes(b.content)
		if strings.TrimSpace(b.content) != "" {
			out = append(out, b)
		}
		if !closed {
			break
		}
		i = b.end
	}
	return out, scanned
}

// unwrapBoxes removes boxes that wrap the whole content: \boxed{\boxed{5}} holds 5.
func unwrapBoxes(content string) string {
	for range 8 {
		k := 0
		for _, cmd := range boxCommands {
			if strings.HasPrefix(content, cmd) && (len(content) == len(cmd) || !isLetter(content[len(cmd)])) {
				k = len(cmd)
			}
		}
		if k == 0 {
			return content
		}
		inner, closed := readBox(content, 0, k)
		if !closed || inner.end != len(content) {
			return content
		}
		content = inner.content
	}
	return content
}

// readBox reads the argument of the box command at start; k is just after the command name.
func readBox(s string, start, k int) (box, bool) {
	for k < len(s) && (s[k] == ' ' || s[k] == '\n' || s[k] == '\t') {
		k++
	}
	if k < len(s) && s[k] == '[' {
		// An optional argument ([2cm]) is short: looking further would rescan the text for
		// every unclosed '['.
		if j := strings.IndexByte(s[k:min(len(s), k+maxOptionalArg)], ']'); j >= 0 {
			k += j + 1
		}
	}
	if k >= len(s) {
		return box{start: start, end: len(s)}, false
	}
	if s[k] != '{' {
		j := k
		for j < len(s) && !strings.ContainsRune(" \t\n$", rune(s[j])) {
			j++
		}
		return box{start: start, end: j, content: strings.TrimRight(s[k:j], ".,;")}, true
	}
	end := matchBrace(s, k)
	if end < 0 {
		return box{start: start, end: len(s), content: strings.TrimSpace(s[k+1:])}, false
	}
	return box{start: start, end: end + 1, content: strings.TrimSpace(s[k+1 : end])}, true
}

// matchBrace returns the index of the brace closing the one at s[open], or -1. Escaped
// braces (\{ \}) are skipped.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// boxedAnswer returns the last box's content, joined with the boxes just before it that are
// separated only by a short gap: under ten characters, or a comma or "and"/"or" phrase of at
// most three other words ("\boxed{1}, \boxed{2}", "\boxed{1} and \boxed{2}"). It also
// returns the end of the last box.
func boxedAnswer(s string) (string, int, bool) {
	bs := boxes(s)
	if len(bs) == 0 {
		return "", 0, false
	}
	last := len(bs) - 1
	parts := []string{bs[last].content}
	for i := last; i > 0 && len(parts) < maxJoinedParts; i-- {
		gap := s[bs[i-1].end:bs[i].start]
		prev := bs[i-1].content
		if !(len(gap) < 10 || len(gap) < 70 && prev != bs[i].content && hasSeparator(gap) && countWords(gap) <= 3) {
			break
		}
		if prev != parts[0] {
			parts = append([]string{prev}, parts...)
		}
	}
	return strings.Join(parts, ", "), bs[last].end, true
}

// hasSeparator reports whether text contains a comma, semicolon, or the word "and" or "or".
func hasSeparator(text string) bool {
	if strings.ContainsAny(text, ",;") {
		return true
	}
	found := false
	letterRuns(text, func(run string, _ int) bool {
		found = run == "and" || run == "or"
		return !found
	})
	return found
}

// countWords counts the words of two or more letters in text, other than "and", "or" and
// commands.
func countWords(text string) int {
	n := 0
	letterRuns(text, func(run string, _ int) bool {
		if len(run) >= 2 && run != "and" && run != "or" {
			n++
		}
		return true
	})
	return n
}

// letterRuns calls fn with every maximal run of ASCII letters not part of a backslash
// command, and its offset, until fn returns false.
func letterRuns(s string, fn func(run string, at int) bool) {
	for i := 0; i < len(s); {
		if !isLetter(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		if (i == 0 || s[i-1] != '\\') && !fn(s[i:j], i) {
			return
		}
		i = j
	}
}

// phraseAnswer reads the answer after the last "answer is", "answer:", "answer =" or
// "answer $...$" (any case, markdown bold allowed), and returns where the phrase starts.
func phraseAnswer(s string) (string, int, bool) {
	lower := lowerASCII(s)
	for end, tries := len(lower), 0; tries < 20; tries++ {
		k := strings.LastIndex(lower[:end], "answer")
		if k < 0 {
			return "", 0, false
		}
		end = k
		rest := s[k+len("answer"):]
		rest = strings.TrimLeft(rest, " *")
		switch {
		case strings.HasPrefix(lowerASCII(rest[:min(len(rest), 3)]), "is"):
			rest = rest[2:]
		case strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "="):
			rest = rest[1:]
		case strings.HasPrefix(rest, "$") || strings.HasPrefix(rest, `\(`) || strings.HasPrefix(rest, `\[`):
		default:
			continue
		}
		if a, ok := answerInPhrase(strings.TrimLeft(rest, " *:\t")); ok {
			return a, k, true
		}
	}
	return "", 0, false
}

// answerInPhrase picks the answer out of the text that follows an answer phrase.
func answerInPhrase(rest string) (string, bool) {
	cand := rest
	if !strings.HasPrefix(cand, "$$") && !strings.HasPrefix(cand, `\[`) {
		if i := strings.IndexByte(cand, '\n'); i >= 0 {
			cand = cand[:i]
		}
	} else if segs := mathSegments(cand); len(segs) > 0 && segs[0].start == 0 {
		cand = cand[:segs[0].end]
	}
	if i := strings.Index(lowerASCII(cand), "i hope"); i >= 0 {
		cand = cand[:i]
	}
	cand = cutSentence(cand)
	cand = strings.TrimSpace(strings.Trim(strings.TrimSpace(cand), "*"))
	if cand == "" {
		return "", false
	}
	if strings.ContainsAny(cand, "$") || strings.Contains(cand, `\(`) || strings.Contains(cand, `\[`) {
		return lastAnswerIn(cand)
	}
	if m := choicePrefix.FindStringSubmatch(cand); m != nil {
		return m[1], true
	}
	if looksMath(cand) {
		return cand, true
	}
	if a, ok := lastAnswerIn(cand); ok {
		return a, true
	}
	if len(cand) <= 40 {
		return strings.TrimRight(cand, ". "), true
	}
	return "", false
}

// cutSentence cuts s at the first ". " that is outside math spans.
func cutSentence(s string) string {
	segs := mathSegments(s)
	from := 0
	for {
		i := strings.Index(s[from:], ". ")
		if i < 0 {
			return s
		}
		at := from + i
		inside := false
		for _, g := range segs {
			if at >= g.start && at < g.end {
				inside = true
			}
		}
		if !inside {
			return s[:at]
		}
		from = at + 2
	}
}

var choicePrefix = regexp.MustCompile(`^(?:\\text(?:bf)?\{)?\(([A-E])\)`)

// looksMath reports whether s reads as a formula rather than a sentence: no word of four
// or more letters outside commands and function names.
func looksMath(s string) bool {
	if len(s) > 200 {
		return false
	}
	ok := true
	letterRuns(s, func(run string, _ int) bool {
		if _, fn := wordFunctions[run]; len(run) >= 4 && !fn && !unitWords[run] {
			ok = false
		}
		return ok
	})
	return ok
}

// isFormula reports whether a whole text is a bare formula: short, with no words of two or
// more letters other than function names.
func isFormula(s string) bool {
	if len(s) > 200 || strings.TrimSpace(s) == "" || strings.Contains(s, `\boxed`) || strings.Contains(s, `\fbox`) {
		return false
	}
	ok := true
	letterRuns(s, func(run string, _ int) bool {
		if _, fn := wordFunctions[run]; len(run) >= 2 && !fn {
			ok = false
		}
		return ok
	})
	return ok
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// segment is one math span of a text: [start, end) with the delimiters, [cstart, cend) the
// content.
type segment struct {
	start, end, cstart, cend int
}

// mathSegments finds the $...$, $$...$$, \(...\) and \[...\] spans of s in order. Inline
// spans do not cross a line break.
func mathSegments(s string) []segment {
	var out []segment
	// unclosed records closers known to be absent from the rest of s, so that many
	// unclosed openers cost linear time.
	unclosed := map[string]bool{}
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == '(' || s[i+1] == '['):
			closer := `\)`
			if s[i+1] == '[' {
				closer = `\]`
			}
			j := -1
			if !unclosed[closer] {
				j = strings.Index(s[i+2:], closer)
			}
			if j < 0 {
				unclosed[closer] = true
				i += 2
				continue
			}
			out = append(out, segment{i, i + 2 + j + 2, i + 2, i + 2 + j})
			i += j + 4
		case s[i] == '\\':
			i += 2
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '$':
			j := -1
			if !unclosed["$$"] {
				j = strings.Index(s[i+2:], "$$")
			}
			if j < 0 {
				unclosed["$$"] = true
				i += 2
				continue
			}
			out = append(out, segment{i, i + 2 + j + 2, i + 2, i + 2 + j})
			i += j + 4
		case s[i] == '$':
			j := i + 1
			for j < len(s) && s[j] != '$' && s[j] != '\n' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) || s[j] != '$' {
				i++
				continue
			}
			out = append(out, segment{i, j + 1, i + 1, j})
			i = j + 1
		default:
			i++
		}
	}
	return out
}

// numberPattern matches a number with thousands separators, a decimal part, an optional
// "/denominator" and an optional percent sign, not glued to a preceding letter or digit.
var numberPattern = regexp.MustCompile(`(?:^|[^A-Za-z0-9.])(-?(?:\d{1,3}(?:[ ,]\d{3})+|\d+)(?:\.\d+)?|-?\.\d+)(\s*/\s*\d+(?:\.\d+)?)?(\s*(?:%|percent|pct))?`)

// lastAnswerIn returns the last math span (joined with spans just before it that are
// separated by a comma or "and"/"or") or the last number after it, whichever ends later.
func lastAnswerIn(s string) (string, bool) {
	segs := mathSegments(s)
	from := 0
	if len(segs) > 0 {
		from = segs[len(segs)-1].end
	}
	text := s[from:]
	if len(text) > numberWindow {
		text = tail(text, numberWindow)
	}
	if len(segs) == 0 && isFormula(s) {
		if a := strings.TrimSpace(s); a != "" {
			return a, true
		}
	}
	if ms := numberPattern.FindAllStringSubmatchIndex(text, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		end := m[3]
		for _, k := range []int{5, 7} {
			if m[k] > end {
				end = m[k]
			}
		}
		return text[m[2]:end], true
	}
	if len(segs) == 0 {
		return "", false
	}
	last := len(segs) - 1
	parts := []string{s[segs[last].cstart:segs[last].cend]}
	for k := last - 1; k >= 0 && len(parts) < maxJoinedParts; k-- {
		if !isConnector(s[segs[k].end:segs[k+1].start]) {
			break
		}
		parts = append([]string{s[segs[k].cstart:segs[k].cend]}, parts...)
	}
	a := strings.Join(parts, ", ")
	if strings.TrimSpace(a) == "" {
		return "", false
	}
	return a, true
}

// isConnector reports whether gap joins two math spans into one answer: a comma, "and",
// "or", or nothing.
func isConnector(gap string) bool {
	g := strings.TrimSpace(gap)
	g = strings.TrimSpace(strings.TrimPrefix(g, ","))
	return g == "" || g == "and" || g == "or"
}
