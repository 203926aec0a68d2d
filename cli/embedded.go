package cli

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"ltecli"
	"ltecli/ort"
	"ltecli/weights"
)

// Files of the embedded default: a model folder plus the task's problem splits.
const (
	embeddedTrain = "train.jsonl"
	embeddedVal   = "val.jsonl"
)

// embeddedDir extracts the embedded tiny model and task once into the cache folder
// ($LTECLI_CACHE, else the user cache folder), keyed by the archive's hash, and returns it.
func embeddedDir() (string, error) {
	if len(ltecli.TinyArchive) == 0 {
		return "", errors.New("this build has no embedded model: pass --model and --train")
	}
	sum := sha256.Sum256(ltecli.TinyArchive)
	base, _, err := ort.CacheDir()
	if err != nil {
		return "", fmt.Errorf("extracting the embedded model: %w", err)
	}
	dir := filepath.Join(base, "tiny-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, embeddedVal)); err == nil {
		return dir, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := unpackArchive(ltecli.TinyArchive, tmp); err != nil {
		return "", fmt.Errorf("extracting the embedded model: %w", err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// packArchive writes the named files of dir as a zstd-compressed tar.
func packArchive(path, dir string, names []string) error {
	return weights.WriteAtomic(path, func(w io.Writer) error {
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		if err != nil {
			return err
		}
		tw := tar.NewWriter(zw)
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			// Fixed metadata, so that the same files give the same archive bytes.
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return zw.Close()
	})
}

// unpackArchive extracts a packArchive archive into dir (plain files only, no paths).
func unpackArchive(archive []byte, dir string) error {
	zr, err := zstd.NewReader(bytes.NewReader(archive))
	if err != nil {
		return err
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || strings.ContainsAny(h.Name, `/\`) || h.Name == ".." {
			return fmt.Errorf("unexpected archive entry %q", h.Name)
		}
		f, err := os.Create(filepath.Join(dir, h.Name))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
