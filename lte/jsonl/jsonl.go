// Package jsonl reads JSON Lines, one JSON value a line. Every reader of the project's JSONL
// files and streams goes through it, so that they agree:
//
//   - a blank line (empty, or white space only) is skipped;
//   - lines are numbered from 1 as the input has them, blank ones included, and errors name
//     the line ("path:LINE: what is wrong");
//   - a last line without a newline is a line like any other, except in ReadLog, which reads
//     a file another process may be appending to: there such a line that does not parse is
//     an unfinished write and is left out.
package jsonl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader returns the non-blank lines of its input one at a time.
type Reader struct {
	in           *bufio.Reader
	line         int
	unterminated bool
}

// NewReader reads JSON lines from r.
func NewReader(r io.Reader) *Reader { return &Reader{in: bufio.NewReaderSize(r, 1<<16)} }

// Next returns the next non-blank line without its line ending, or io.EOF after the last
// one; on a read error, Line is the number of the line being read. The line is valid until
// the next call.
func (r *Reader) Next() ([]byte, error) {
	for {
		raw, err := r.in.ReadBytes('\n')
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		r.line++
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		r.unterminated = err != nil
		if len(bytes.TrimSpace(raw)) > 0 {
			return bytes.TrimRight(raw, "\r\n"), nil
		}
		if r.unterminated {
			return nil, io.EOF
		}
	}
}

// Line is the number of the line Next returned last (from 1).
func (r *Reader) Line() int { return r.line }

// Unterminated reports whether the line Next returned last ended the input without a
// newline.
func (r *Reader) Unterminated() bool { return r.unterminated }

// Buffered is the number of input bytes read ahead and not yet returned: when it is 0, the
// next call of Next may wait for input (a stream's caller flushes its answers first).
func (r *Reader) Buffered() int { return r.in.Buffered() }

// Each calls fn with every non-blank line of r. It stops at the first error, of reading or
// of fn, and returns it as "LINE: error".
func Each(r io.Reader, fn func(raw []byte) error) error {
	return each(r, false, fn)
}

// ReadFile calls fn with every non-blank line of the file at path. It stops at the first
// error, of reading or of fn, and returns it as "path:LINE: error".
func ReadFile(path string, fn func(raw []byte) error) error {
	return readFile(path, false, fn)
}

// ReadLog is ReadFile for a log that may be being appended to (metrics.jsonl of a running
// job): a last line without a newline that fn rejects is an unfinished write, left out.
func ReadLog(path string, fn func(raw []byte) error) error {
	return readFile(path, true, fn)
}

func readFile(path string, log bool, fn func(raw []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := each(f, log, fn); err != nil {
		return fmt.Errorf("%s:%w", path, err)
	}
	return nil
}

// each reads the lines of r; errors read "LINE: error" (no space before LINE, so that a
// caller can prefix "path:").
func each(r io.Reader, log bool, fn func(raw []byte) error) error {
	in := NewReader(r)
	for {
		raw, err := in.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%d: %w", in.Line(), err)
		}
		if err := fn(raw); err != nil {
			if log && in.Unterminated() {
				return nil
			}
			return fmt.Errorf("%d: %w", in.Line(), err)
		}
	}
}
