package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestPackUnpackRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"config.json": `{"a": 1}`, "train.jsonl": "x\ny\n"}
	var names []string
	for name, body := range files {
		os.WriteFile(filepath.Join(src, name), []byte(body), 0o644)
		names = append(names, name)
	}
	archive := filepath.Join(t.TempDir(), "a.tar.zst")
	if err := packArchive(archive, src, names); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(archive)
	if err := packArchive(archive, src, names); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(archive); !bytes.Equal(first, second) {
		t.Error("packing the same files twice gave different archives")
	}
	out := filepath.Join(t.TempDir(), "x")
	if err := unpackArchive(first, out); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if got, _ := os.ReadFile(filepath.Join(out, name)); string(got) != body {
			t.Errorf("%s: %q, want %q", name, got, body)
		}
	}
	if err := unpackArchive(first[:len(first)/2], filepath.Join(t.TempDir(), "y")); err == nil {
		t.Error("truncated archive accepted")
	}
}
