package tasks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"ltecli/lte"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/weights"
)

// smallSpec is the default spec with less SFT data, for speed.
func smallSpec(seed uint64) AssetSpec {
	s := DefaultAssetSpec(seed)
	s.SFT = 3000
	return s
}

// TestBuildTinyAssets builds the assets and loads each file with the project's own readers:
// the problems with lte.LoadProblems, the tokenizer with model/tokenizer (which must round-trip
// the SFT text), the config with qwen3.ParseConfig and the weights with qwen3.LoadParams.
func TestBuildTinyAssets(t *testing.T) {
	dir := t.TempDir()
	spec := smallSpec(3)
	if err := BuildTinyAssets(dir, spec); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{TrainFile: spec.Train, ValFile: spec.Val} {
		problems, err := lte.LoadProblems(filepath.Join(dir, name), lte.Fields{})
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != n {
			t.Errorf("%s: %d problems, want %d", name, len(problems), n)
		}
	}

	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := tok.VocabSize(); n < 400 || n > spec.VocabSize {
		t.Errorf("tokenizer of %d tokens, want 400 to %d", n, spec.VocabSize)
	}
	examples := readExamples(t, filepath.Join(dir, SFTFile))
	if len(examples) != spec.SFT {
		t.Fatalf("%d SFT examples, want %d", len(examples), spec.SFT)
	}
	imEnd, _ := tok.TokenID("<|im_end|>")
	for i, ex := range examples {
		text := ex.Prompt + ex.Response
		if got := tok.Decode(tok.Encode(text)); got != text {
			t.Fatalf("SFT example %d decodes as %q, want %q", i, got, text)
		}
		if n := len(tok.Encode(ex.Response)) + 1; n > 10 && n < 34 {
			t.Errorf("SFT example %d: response of %d tokens, neither short (10 at most) nor a ramble (34 or more): %q", i, n, ex.Response)
		}
	}

	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := qwen3.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VocabSize%8 != 0 || cfg.VocabSize < tok.VocabSize() || cfg.VocabSize >= tok.VocabSize()+8 {
		t.Errorf("vocab_size %d is not the tokenizer's %d rounded up to a multiple of 8", cfg.VocabSize, tok.VocabSize())
	}
	if eos := cfg.EOSTokenIDs(); len(eos) != 1 || eos[0] != imEnd {
		t.Errorf("eos_token_id %v, want [%d] (<|im_end|>)", eos, imEnd)
	}
	if !cfg.TieWordEmbeddings || cfg.ModelType != "qwen3" || cfg.HiddenSize != spec.Model.HiddenSize || cfg.NumHiddenLayers != spec.Model.Layers {
		t.Errorf("config %+v does not match the spec %+v", cfg, spec.Model)
	}

	ckpt, err := weights.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	params, err := qwen3.LoadParams(cfg, ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(len(params.Data)), cfg.NumParams(); got != want {
		t.Errorf("%d parameters, the config counts %d", got, want)
	}
	var sum, sumSq, n float64
	for _, v := range params.Views {
		data := params.Slice(v)
		if len(v.Shape) == 1 {
			for _, x := range data {
				if x != 1 {
					t.Fatalf("norm weight %s holds %v, want 1", v.Name, x)
				}
			}
			continue
		}
		for _, x := range data {
			sum += float64(x)
			sumSq += float64(x) * float64(x)
			n++
		}
	}
	mean, std := sum/n, math.Sqrt(sumSq/n-(sum/n)*(sum/n))
	if math.Abs(mean) > 1e-4 || math.Abs(std-initStd) > 1e-4 {
		t.Errorf("matrix weights have mean %.2g and std %.4g, want 0 and %v", mean, std, initStd)
	}
}

// TestBuildTinyAssetsReproducible checks that a spec gives the same bytes in every file.
func TestBuildTinyAssetsReproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	spec := smallSpec(5)
	spec.SFT = 500
	for _, dir := range []string{a, b} {
		if err := BuildTinyAssets(dir, spec); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config.json", "model.safetensors", SFTFile, "tokenizer.json", "tokenizer_config.json", TrainFile, ValFile}
	if len(entries) != len(want) {
		t.Errorf("%d files, want %v", len(entries), want)
	}
	for _, name := range want {
		x, errA := os.ReadFile(filepath.Join(a, name))
		y, errB := os.ReadFile(filepath.Join(b, name))
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v, %v", name, errA, errB)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds", name)
		}
	}
}

func readExamples(t *testing.T, path string) []Example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ex Example
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ex); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
