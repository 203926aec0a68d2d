package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// The container is a zstd-compressed safetensors stream, for optimizer state, RNG state and
// other checkpoint parts that need not be read by other tools. Its files end in
// ".safetensors.zst" by convention.

// WriteContainer writes tensors and metadata compressed, atomically.
func WriteContainer(path string, tensors []Tensor, meta map[string]string) error {
	return WriteAtomic(path, func(w io.Writer) error {
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return err
		}
		if err := Encode(zw, tensors, meta); err != nil {
			zw.Close()
			return err
		}
		return zw.Close()
	})
}

// maxContainerBytes bounds the decompressed size of a container.
const maxContainerBytes = 64 << 30

// ReadContainer reads a file written by WriteContainer, validating it like a safetensors file.
func ReadContainer(path string) ([]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(zr, maxContainerBytes)); err != nil {
		return nil, nil, fmt.Errorf("%s: corrupt compressed container: %w", path, err)
	}
	tensors, meta, err := DecodeBytes(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, meta, nil
}

// DecodeBytes parses a whole safetensors file held in memory. The tensors' Data alias b.
func DecodeBytes(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("too short for safetensors (%d bytes)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeaderLen || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("header length %d does not fit in %d bytes (truncated?)", n, len(b))
	}
	data := b[8+n:]
	infos, meta, err := ParseHeader(b[8:8+n], int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	out := make([]Tensor, len(infos))
	for i, t := range infos {
		out[i] = Tensor{Name: t.Name, DType: t.DType, Shape: t.Shape, Data: data[t.Begin:t.End]}
	}
	return out, meta, nil
}
