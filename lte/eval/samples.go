package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Sample is one line of a samples file: one response to a benchmark problem and its verdict.
type Sample struct {
	Benchmark    string `json:"benchmark"`
	ID           string `json:"id"`
	Index        int    `json:"index"` // sample number within the problem
	Gold         string `json:"gold"`
	Prompt       string `json:"prompt,omitempty"`
	Response     string `json:"response"`
	Pred         string `json:"pred"` // the answer extracted from Response, normalised
	Correct      bool   `json:"correct"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// UnmarshalJSON reads a sample line, which needs benchmark, id, gold and response. It accepts
// id and gold written as JSON numbers too (benchmark files give both as numbers: "id": 60,
// "answer": 70.0), keeping the number's text.
func (s *Sample) UnmarshalJSON(data []byte) error {
	type plain Sample
	var aux struct {
		plain
		ID       json.RawMessage `json:"id"`
		Gold     json.RawMessage `json:"gold"`
		Response *string         `json:"response"`
	}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	*s = Sample(aux.plain)
	var err error
	if s.ID, err = textOrNumber(aux.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if s.Gold, err = textOrNumber(aux.Gold); err != nil {
		return fmt.Errorf("gold: %w", err)
	}
	for _, f := range []struct{ name, value string }{{"benchmark", s.Benchmark}, {"id", s.ID}, {"gold", s.Gold}} {
		if f.value == "" {
			return fmt.Errorf("no %s", f.name)
		}
	}
	if aux.Response == nil {
		return errors.New("no response")
	}
	s.Response = *aux.Response
	return nil
}

// textOrNumber returns a JSON string's value or a JSON number's text; absent or null is "".
func textOrNumber(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", errors.New("must be a string or a number")
	}
	return n.String(), nil
}

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// ReadSamples reads a samples file: JSON lines, plain or zstd-compressed (told apart by the
// zstd magic number, not the name). Every line needs benchmark, id, gold and response.
// A compressed file may end in an incomplete frame, as a killed evaluation leaves it: that
// frame is skipped and ignored is its size in bytes.
func ReadSamples(path string) (samples []Sample, ignored int64, err error) {
	samples, valid, size, err := readSampleFile(path)
	return samples, size - valid, err
}

// readSampleFile reads the samples of path and returns how many leading bytes of the file
// held them (all of a plain file; the complete frames of a compressed one) and its size.
func readSampleFile(path string) (samples []Sample, valid, size int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	size = int64(len(data))
	if !bytes.HasPrefix(data, zstdMagic) {
		samples, err := parseSamples(data, 1)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s:%w", path, err)
		}
		return samples, size, size, nil
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, 0, 0, err
	}
	defer dec.Close()
	var text []byte
	line, pos := 1, 0
	for pos < len(data) {
		n, err := frameLen(data[pos:])
		if errors.Is(err, io.ErrUnexpectedEOF) {
			break // an incomplete last frame
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: byte %d: not a zstd frame: %w", path, pos, err)
		}
		text, err = dec.DecodeAll(data[pos:pos+n], text[:0])
		if err != nil {
			if pos+n == len(data) {
				break // the last frame was cut short or garbled while being written
			}
			return nil, 0, 0, fmt.Errorf("%s: byte %d: corrupt zstd frame: %w", path, pos, err)
		}
		got, err := parseSamples(text, line)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s (decompressed):%w", path, err)
		}
		samples = append(samples, got...)
		line += bytes.Count(text, []byte{'\n'})
		pos += n
	}
	return samples, int64(pos), size, nil
}

// parseSamples decodes JSON lines; firstLine numbers the first line in errors, which read
// "LINE: what is wrong".
func parseSamples(text []byte, firstLine int) ([]Sample, error) {
	var out []Sample
	for i, raw := range bytes.Split(text, []byte{'\n'}) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var s Sample
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%d: %w", firstLine+i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// frameLen returns the length of the zstd frame (or skippable frame) that data starts with,
// walking its block headers, or io.ErrUnexpectedEOF when data ends inside it.
func frameLen(data []byte) (int, error) {
	var h zstd.Header
	if err := h.Decode(data); err != nil {
		return 0, err
	}
	if h.Skippable {
		n := h.HeaderSize + int(h.SkippableSize)
		if n > len(data) {
			return 0, io.ErrUnexpectedEOF
		}
		return n, nil
	}
	pos := h.HeaderSize
	for last := false; !last; {
		if pos+3 > len(data) {
			return 0, io.ErrUnexpectedEOF
		}
		header := uint32(data[pos]) | uint32(data[pos+1])<<8 | uint32(data[pos+2])<<16
		pos += 3
		last = header&1 == 1
		size := int(header >> 3)
		switch blockType := header >> 1 & 3; blockType {
		case 1: // RLE: one byte, repeated size times
			size = 1
		case 3:
			return 0, errors.New("reserved block type " + strconv.Itoa(int(blockType)))
		}
		pos += size
	}
	if h.HasCheckSum {
		pos += 4
	}
	if pos > len(data) {
		return 0, io.ErrUnexpectedEOF
	}
	return pos, nil
}

// sampleLog appends samples to a samples.jsonl.zst, one zstd frame per call.
type sampleLog struct {
	f   *os.File
	enc *zstd.Encoder
}

// openSampleLog opens path for appending after its first keep bytes, cutting off the rest
// (an incomplete frame left by an interrupted run).
func openSampleLog(path string, keep int64) (*sampleLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: cutting off an incomplete frame: %w", path, err)
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sampleLog{f: f, enc: enc}, nil
}

// append writes samples as one frame and syncs it to disk, so that a finished problem
// survives a crash.
func (l *sampleLog) append(samples []Sample) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, s := range samples {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	if _, err := l.f.Write(l.enc.EncodeAll(buf.Bytes(), nil)); err != nil {
		return fmt.Errorf("%s: %w", l.f.Name(), err)
	}
	return l.f.Sync()
}

// close closes the file.
func (l *sampleLog) close() error {
	return errors.Join(l.enc.Close(), l.f.Close())
}
