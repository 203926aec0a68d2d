package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"ltecli/lte/jsonl"
	"ltecli/model/tokenizer"
)

// TokenizeCmd converts between text and token ids with a checkpoint's tokenizer, one JSON
// object a line on stdin and stdout. Its formats are stable: other tools rely on them.
type TokenizeCmd struct {
	Model  string `name:"model" required:"" type:"path" help:"Hugging Face checkpoint folder (tokenizer.json, optional tokenizer_config.json)."`
	Decode bool   `name:"decode" help:"Read {\"ids\": [...]} lines and write {\"text\": ...} lines, instead of text to ids."`
}

// Run reads JSON lines {"text": ...} from stdin and writes {"ids": [...]} lines (no special
// tokens are added), or with --decode reads {"ids": [...]} and writes {"text": ...}. Blank
// lines are skipped; a malformed line stops the run with an error naming its line number.
func (c *TokenizeCmd) Run(g *Globals) error {
	tok, err := tokenizer.Load(c.Model)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	err = tokenizeLines(tok, os.Stdin, out, c.Decode)
	if flushErr := out.Flush(); err == nil && flushErr != nil {
		err = fmt.Errorf("tokenize: writing stdout: %w", flushErr)
	}
	return err
}

// tokenizeLines converts each JSON line of r and writes the result to out, flushing whenever
// the input has no more lines at hand, so that a caller feeding one line at a time gets each
// answer at once.
func tokenizeLines(tok *tokenizer.Tokenizer, r io.Reader, out *bufio.Writer, decode bool) error {
	in := jsonl.NewReader(r)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // keep <|im_end|> readable
	for {
		line, err := in.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tokenize: reading stdin line %d: %w", in.Line(), err)
		}
		var result any
		if decode {
			result, err = decodeLine(tok, line)
		} else {
			result, err = encodeLine(tok, line)
		}
		if err != nil {
			return fmt.Errorf("tokenize: stdin line %d: %w", in.Line(), err)
		}
		if err := enc.Encode(result); err != nil {
			return fmt.Errorf("tokenize: writing the result of line %d: %w", in.Line(), err)
		}
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return fmt.Errorf("tokenize: writing stdout: %w", err)
			}
		}
	}
}

// encodeLine turns {"text": ...} into {"ids": [...]}.
func encodeLine(tok *tokenizer.Tokenizer, line []byte) (any, error) {
	var in struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf(`want {"text": "..."}: %w`, err)
	}
	if in.Text == nil {
		return nil, errors.New(`want {"text": "..."}: no "text" string`)
	}
	return struct {
		IDs []int `json:"ids"`
	}{tok.Encode(*in.Text)}, nil
}

// decodeLine turns {"ids": [...]} into {"text": ...}, refusing ids that name no token.
func decodeLine(tok *tokenizer.Tokenizer, line []byte) (any, error) {
	var in struct {
		IDs *[]int `json:"ids"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return nil, fmt.Errorf(`want {"ids": [integers]}: %w`, err)
	}
	if in.IDs == nil {
		return nil, errors.New(`want {"ids": [integers]}: no "ids" list`)
	}
	for i, id := range *in.IDs {
		if _, ok := tok.Token(id); !ok {
			return nil, fmt.Errorf("ids[%d] = %d is not a token id of this tokenizer (ids run from 0 to %d)", i, id, tok.VocabSize()-1)
		}
	}
	return struct {
		Text string `json:"text"`
	}{tok.Decode(*in.IDs)}, nil
}
