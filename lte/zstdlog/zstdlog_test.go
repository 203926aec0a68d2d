package zstdlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestAppendReadResume appends frames, reads them back with the standard zstd stream decoder
// as well, cuts the last frame short as a killed writer would, and resumes after the
// complete ones.
func TestAppendReadResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.zst")
	parts := []string{"first line\n", strings.Repeat("second, longer and repeated\n", 200), "third\n"}
	l, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	for _, p := range parts {
		if err := l.Append([]byte(p)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if int64(len(data)) != ends[2] {
		t.Fatalf("file of %d bytes, Size said %d", len(data), ends[2])
	}
	dec, _ := zstd.NewReader(bytes.NewReader(data))
	var stream bytes.Buffer
	if _, err := stream.ReadFrom(dec); err != nil {
		t.Fatal(err)
	}
	dec.Close()
	all := strings.Join(parts, "")
	if stream.String() != all {
		t.Fatal("the standard decoder reads other data")
	}
	text, valid, err := Read(path)
	if err != nil || string(text) != all || valid != ends[2] {
		t.Fatalf("read %d bytes (valid %d): %v", len(text), valid, err)
	}

	// A last frame cut anywhere is left out; the frames before it are read.
	for _, cut := range []int64{ends[1] + 1, ends[1] + 5, ends[2] - 1} {
		text, valid, err := Decode(data[:cut])
		if err != nil || string(text) != parts[0]+parts[1] || valid != ends[1] {
			t.Errorf("cut at %d: %d bytes (valid %d), %v", cut, len(text), valid, err)
		}
	}
	// Garbage in the middle is an error.
	bad := append(append(bytes.Clone(data[:ends[0]]), "not a frame at all"...), data[ends[0]:]...)
	if _, _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "byte ") {
		t.Errorf("garbage between frames: %v", err)
	}

	// Resume after the second frame of a file cut in the third.
	os.WriteFile(path, data[:ends[2]-2], 0o644)
	if _, err := Open(path, ends[2]); err == nil {
		t.Error("opened a file shorter than the length to keep")
	}
	l, err = Open(path, ends[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("fourth\n")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if text, _, err := Read(path); err != nil || string(text) != parts[0]+parts[1]+"fourth\n" {
		t.Errorf("after resuming: %q, %v", text, err)
	}
	if !Compressed(data) || Compressed([]byte(all)) {
		t.Error("Compressed does not tell a log from text")
	}
}
