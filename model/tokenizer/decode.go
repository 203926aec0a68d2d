package tokenizer

import "unicode/utf8"

// Decode returns the text of ids: the bytes of the model tokens, UTF-8-decoded, and the
// content of added tokens (special ones included). Bytes that are not valid UTF-8 become
// U+FFFD, one for each maximal invalid subsequence (the WHATWG decoder, as the reference's
// TextDecoder); a run of model tokens is decoded on its own, so a character cut by an added
// token is not rejoined across it. Ids that name no token (negative, VocabSize or more, or a
// hole in the vocabulary) are skipped, as the Rust tokenizers library does.
//
// Decode(Encode(x)) is the NFC form of x, except where NFC would compose a character of x
// with a neighbouring added token (Encode normalizes the text between added tokens only).
func (t *Tokenizer) Decode(ids []int) string {
	var out, pending []byte
	for _, id := range ids {
		switch t.kindOf(id) {
		case kindModel:
			pending = append(pending, t.text[id]...)
		case kindAdded, kindSpecial:
			out = appendLossy(out, pending)
			pending = pending[:0]
			out = append(out, t.text[id]...)
		}
	}
	return string(appendLossy(out, pending))
}

// kindOf returns the kind of id, kindNone for ids outside the vocabulary.
func (t *Tokenizer) kindOf(id int) tokenKind {
	if id < 0 || id >= len(t.kind) {
		return kindNone
	}
	return t.kind[id]
}

// StreamDecoder decodes ids one at a time, as they are generated, and returns text as soon
// as it is complete: bytes that begin a UTF-8 character which the next tokens may finish are
// held back. The texts returned by Next, followed by Flush's, concatenate to Decode of all the
// ids. A StreamDecoder is not safe for concurrent use; make one per sequence.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // the held-back start of an incomplete character
}

// NewStreamDecoder returns a StreamDecoder with nothing held back.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Next adds id and returns the text it completes ("" when its bytes only begin a character,
// or when no token has that id).
func (d *StreamDecoder) Next(id int) string {
	switch d.t.kindOf(id) {
	case kindModel:
		d.pending = append(d.pending, d.t.text[id]...)
		complete := len(d.pending) - incompleteTail(d.pending)
		out := string(appendLossy(nil, d.pending[:complete]))
		d.pending = append(d.pending[:0], d.pending[complete:]...)
		return out
	case kindAdded, kindSpecial:
		return d.Flush() + d.t.text[id]
	}
	return ""
}

// Flush returns what is held back, as U+FFFD (the end of the sequence leaves it incomplete),
// and empties the decoder so it can go on with a new run of ids.
func (d *StreamDecoder) Flush() string {
	out := string(appendLossy(nil, d.pending))
	d.pending = d.pending[:0]
	return out
}

// appendLossy appends src to dst with every maximal invalid UTF-8 subsequence replaced by
// U+FFFD.
func appendLossy(dst, src []byte) []byte {
	if utf8.Valid(src) {
		return append(dst, src...)
	}
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size == 1 {
			size, _ = sequencePrefix(src)
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, src[:size]...)
		}
		src = src[size:]
	}
	return dst
}

// sequencePrefix looks at the UTF-8 sequence that starts at p[0] (len(p) > 0). It returns how
// many bytes of p are a valid start of it (at least 1: a byte that cannot start a sequence
// counts as a subsequence of its own) and how many bytes the complete sequence has (0 when
// p[0] cannot start one). The ranges are those of the Unicode standard's table 3-7, which the
// WHATWG decoder follows.
func sequencePrefix(p []byte) (valid, total int) {
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte; later ones are 80..BF
	switch b := p[0]; {
	case b < 0x80:
		return 1, 1
	case 0xC2 <= b && b <= 0xDF:
		total = 2
	case b == 0xE0:
		total, lo = 3, 0xA0
	case b == 0xED:
		total, hi = 3, 0x9F
	case 0xE1 <= b && b <= 0xEF:
		total = 3
	case b == 0xF0:
		total, lo = 4, 0x90
	case b == 0xF4:
		total, hi = 4, 0x8F
	case 0xF1 <= b && b <= 0xF3:
		total = 4
	default:
		return 1, 0
	}
	valid = 1
	for valid < total && valid < len(p) && lo <= p[valid] && p[valid] <= hi {
		valid++
		lo, hi = 0x80, 0xBF
	}
	return valid, total
}

// incompleteTail returns the length of the end of p that is a valid but incomplete UTF-8
// sequence, which more bytes could complete; 0 when there is none.
func incompleteTail(p []byte) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(p); k++ {
		b := p[len(p)-k]
		if b < 0x80 {
			return 0
		}
		if b >= 0xC0 { // the last byte that can start a sequence
			valid, total := sequencePrefix(p[len(p)-k:])
			if valid == k && k < total {
				return k
			}
			return 0
		}
	}
	return 0
}
