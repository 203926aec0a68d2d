// Package zstdlog is an append-only log of zstd frames, the format of samples.jsonl.zst
// (training runs and evaluations). Each Append compresses its data as one frame, appends it
// and syncs the file, so that a crash loses at most the frame being written. The log reads
// back as the concatenation of its complete frames: a last frame cut short or garbled (a
// killed writer) is left out, and Open cuts the file back to a given length (a checkpoint's,
// or the end of the complete frames) before appending again.
package zstdlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Log is a log open for appending.
type Log struct {
	f    *os.File
	enc  *zstd.Encoder
	size int64
}

// Open opens the log at path (created if missing) for appending after its first keep bytes,
// cutting off the rest. A file shorter than keep is an error: it lost frames that keep
// counts.
func Open(path string, keep int64) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	l, err := open(f, keep)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func open(f *os.File, keep int64) (*Log, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < keep {
		return nil, fmt.Errorf("the file is shorter (%d bytes) than recorded (%d)", st.Size(), keep)
	}
	if err := f.Truncate(keep); err != nil {
		return nil, fmt.Errorf("cutting off what follows byte %d: %w", keep, err)
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &Log{f: f, enc: enc, size: keep}, nil
}

// Append writes data as one frame and syncs it to disk.
func (l *Log) Append(data []byte) error {
	frame := l.enc.EncodeAll(data, nil)
	if _, err := l.f.Write(frame); err != nil {
		return fmt.Errorf("%s: %w", l.f.Name(), err)
	}
	l.size += int64(len(frame))
	return l.f.Sync()
}

// Size is the length of the log in bytes: where the next frame starts.
func (l *Log) Size() int64 { return l.size }

// Close closes the encoder and the file.
func (l *Log) Close() error {
	return errors.Join(l.enc.Close(), l.f.Close())
}

// magic starts every zstd frame.
var magic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Compressed reports whether data starts with a zstd frame (its magic number).
func Compressed(data []byte) bool { return bytes.HasPrefix(data, magic) }

// Read returns the decompressed data of the log at path (see Decode).
func Read(path string) (text []byte, valid int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if text, valid, err = Decode(data); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return text, valid, nil
}

// Decode returns the decompressed data of the complete frames of a log and their length in
// bytes (the keep of Open that drops the rest). A last frame that ends early or does not
// decompress is left out; a damaged frame before it is an error.
func Decode(data []byte) (text []byte, valid int64, err error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, 0, err
	}
	defer dec.Close()
	pos := 0
	for pos < len(data) {
		n, err := frameLen(data[pos:])
		if errors.Is(err, io.ErrUnexpectedEOF) {
			break // an incomplete last frame
		}
		if err != nil {
			return nil, 0, fmt.Errorf("byte %d: not a zstd frame: %w", pos, err)
		}
		out, err := dec.DecodeAll(data[pos:pos+n], text)
		if err != nil {
			if pos+n == len(data) {
				break // the last frame was garbled while being written
			}
			return nil, 0, fmt.Errorf("byte %d: corrupt zstd frame: %w", pos, err)
		}
		text = out
		pos += n
	}
	return text, int64(pos), nil
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
