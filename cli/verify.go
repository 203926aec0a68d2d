package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"ltecli/lte/jsonl"
	"ltecli/lte/verify"
)

// VerifyCmd checks model responses against gold answers with the project's verifier, one
// JSON object a line on stdin and stdout. Its formats are stable: other tools rely on them.
type VerifyCmd struct{}

// verifyInput is one input line: the model's full response and the gold answer (a string,
// or a number such as 70.0).
type verifyInput struct {
	Response *string         `json:"response"`
	Gold     json.RawMessage `json:"gold"`
}

// verifyOutput is one output line: the verdict, the extracted and normalised prediction, the
// normalised gold answer and the reason for the verdict.
type verifyOutput struct {
	Correct bool   `json:"correct"`
	Pred    string `json:"pred"`
	Gold    string `json:"gold"`
	Reason  string `json:"reason"`
}

// verifyBatch is the most lines verified together; output follows each batch.
const verifyBatch = 512

// Run reads JSON lines {"response": ..., "gold": ...} from stdin and writes one line
// {"correct": ..., "pred": ..., "gold": ..., "reason": ...} per input, in input order,
// verifying on all cores. Blank lines are skipped; a malformed line stops the run, after the
// lines before it are answered, with an error naming its line number.
func (c *VerifyCmd) Run(g *Globals) error {
	out := bufio.NewWriter(os.Stdout)
	err := verifyLines(os.Stdin, out, runtime.GOMAXPROCS(0))
	if flushErr := out.Flush(); err == nil && flushErr != nil {
		err = fmt.Errorf("verify: writing stdout: %w", flushErr)
	}
	return err
}

// verifyLines verifies the JSON lines of r with the given number of workers and writes the
// verdicts to out in input order. Output is flushed whenever the input has no more lines at
// hand, so that a caller feeding one line at a time gets each verdict at once.
func verifyLines(r io.Reader, out *bufio.Writer, workers int) error {
	in := jsonl.NewReader(r)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var batch []verifyInput
	flush := func() error {
		for _, v := range verifyAll(batch, workers) {
			if err := enc.Encode(v); err != nil {
				return fmt.Errorf("verify: writing stdout: %w", err)
			}
		}
		batch = batch[:0]
		return out.Flush()
	}
	for {
		line, err := in.Next()
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			if flushErr := flush(); flushErr != nil {
				return flushErr
			}
			return fmt.Errorf("verify: reading stdin line %d: %w", in.Line(), err)
		}
		item, err := parseVerifyLine(line)
		if err != nil {
			if flushErr := flush(); flushErr != nil {
				return flushErr
			}
			return fmt.Errorf("verify: line %d: %w", in.Line(), err)
		}
		batch = append(batch, item)
		if len(batch) >= verifyBatch || in.Buffered() == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// parseVerifyLine decodes one input line; gold may be a JSON string or number.
func parseVerifyLine(line []byte) (verifyInput, error) {
	var item verifyInput
	if err := json.Unmarshal(line, &item); err != nil {
		return item, fmt.Errorf("want a JSON object {\"response\": ..., \"gold\": ...}: %w", err)
	}
	if item.Response == nil {
		return item, errors.New(`missing "response"`)
	}
	if len(item.Gold) == 0 {
		return item, errors.New(`missing "gold"`)
	}
	var s string
	if json.Unmarshal(item.Gold, &s) == nil {
		return item, nil
	}
	var n json.Number
	if json.Unmarshal(item.Gold, &n) != nil {
		return item, errors.New(`"gold" must be a string or a number`)
	}
	return item, nil
}

// goldText is the gold answer of a parsed line as text (a number's own digits).
func (v verifyInput) goldText() string {
	var s string
	if json.Unmarshal(v.Gold, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v.Gold))
}

// verifyAll verifies items on up to workers goroutines; results keep the input order.
func verifyAll(items []verifyInput, workers int) []verifyOutput {
	results := make([]verifyOutput, len(items))
	workers = max(1, min(workers, len(items)))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				v := verify.Verify(*items[i].Response, items[i].goldText())
				results[i] = verifyOutput{Correct: v.Correct, Pred: v.Pred, Gold: v.Gold, Reason: v.Reason}
			}
		}()
	}
	wg.Wait()
	return results
}
