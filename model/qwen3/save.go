package qwen3

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"ltecli/weights"
)

// companionFiles are copied from the source model folder into a saved checkpoint so that it
// loads in every command and in other tools.
var companionFiles = []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"}

// SaveModel writes a Hugging Face model folder at dir: model.safetensors from params (fp32,
// under the checkpoint names) and the config and tokenizer files of srcDir. The folder appears
// whole or not at all: it is written beside dir and renamed into place, replacing an old one.
func SaveModel(dir, srcDir string, params *weights.Store) error {
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := params.Save(filepath.Join(tmp, "model.safetensors"), map[string]string{"format": "pt"}); err != nil {
		return err
	}
	for _, name := range companionFiles {
		src := filepath.Join(srcDir, name)
		if _, err := os.Stat(src); err != nil {
			if name == "config.json" {
				return fmt.Errorf("saving model: %s has no config.json", srcDir)
			}
			continue
		}
		if err := copyFile(filepath.Join(tmp, name), src); err != nil {
			return fmt.Errorf("saving model: %w", err)
		}
	}
	return ReplaceDir(tmp, dir)
}

// ReplaceDir renames the complete folder tmp to dir, removing an older dir first.
func ReplaceDir(tmp, dir string) error {
	old := dir + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func copyFile(dst, src string) error {
	return weights.WriteAtomic(dst, func(w io.Writer) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
}
