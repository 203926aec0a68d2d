package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"ltecli/lte/jsonl"
	"ltecli/lte/zstdlog"
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

// ReadSamples reads a samples file: JSON lines, plain or zstd-compressed (a zstdlog, told
// apart by the zstd magic number, not the name). Every line needs benchmark, id, gold and
// response. A compressed file may end in an incomplete frame, as a killed evaluation leaves
// it: that frame is skipped and ignored is its size in bytes.
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
	size, valid = int64(len(data)), int64(len(data))
	where := path
	if zstdlog.Compressed(data) {
		if data, valid, err = zstdlog.Decode(data); err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		where = path + " (decompressed)"
	}
	err = jsonl.Each(bytes.NewReader(data), func(raw []byte) error {
		var s Sample
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		samples = append(samples, s)
		return nil
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s:%w", where, err)
	}
	return samples, valid, size, nil
}

// appendSamples writes samples to the log as one frame, so that a finished problem survives
// a crash.
func appendSamples(log *zstdlog.Log, samples []Sample) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, s := range samples {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return log.Append(buf.Bytes())
}
