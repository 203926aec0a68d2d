package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"ltecli/weights"
)

// capture runs the CLI with args and returns its exit code, stdout and stderr.
func capture(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr, oldIn := os.Stdout, os.Stderr, os.Stdin
	defer func() { os.Stdout, os.Stderr, os.Stdin = oldOut, oldErr, oldIn }()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	inR, inW, _ := os.Pipe()
	os.Stdout, os.Stderr, os.Stdin = outW, errW, inR
	go func() { io.WriteString(inW, stdin); inW.Close() }()
	var outB, errB bytes.Buffer
	done := make(chan struct{}, 2)
	go func() { io.Copy(&outB, outR); done <- struct{}{} }()
	go func() { io.Copy(&errB, errR); done <- struct{}{} }()
	code := Main(args)
	outW.Close()
	errW.Close()
	<-done
	<-done
	return code, outB.String(), errB.String()
}

func writeTinyCheckpoint(t *testing.T, dir string) {
	t.Helper()
	cfg := `{"model_type":"qwen3","vocab_size":8,"hidden_size":4,"intermediate_size":6,"num_hidden_layers":1,
"num_attention_heads":2,"num_key_value_heads":1,"head_dim":2,"tie_word_embeddings":true,"rms_norm_eps":1e-6,"rope_theta":10000}`
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	shapes := map[string][]int64{
		"model.embed_tokens.weight": {8, 4}, "model.norm.weight": {4},
		"model.layers.0.input_layernorm.weight": {4}, "model.layers.0.post_attention_layernorm.weight": {4},
		"model.layers.0.self_attn.q_proj.weight": {4, 4}, "model.layers.0.self_attn.k_proj.weight": {2, 4},
		"model.layers.0.self_attn.v_proj.weight": {2, 4}, "model.layers.0.self_attn.o_proj.weight": {4, 4},
		"model.layers.0.self_attn.q_norm.weight": {2}, "model.layers.0.self_attn.k_norm.weight": {2},
		"model.layers.0.mlp.gate_proj.weight": {6, 4}, "model.layers.0.mlp.up_proj.weight": {6, 4},
		"model.layers.0.mlp.down_proj.weight": {4, 6},
	}
	var ts []weights.Tensor
	for name, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= int(d)
		}
		ts = append(ts, weights.FromFloat32(name, shape, make([]float32, n), weights.BF16))
	}
	if err := weights.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVersionReportsRuntime(t *testing.T) {
	code, out, errOut := capture(t, "", "version")
	if code != 0 || !strings.Contains(out, "onnxruntime 1.30.0") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDevicesListsCPU(t *testing.T) {
	code, out, errOut := capture(t, "", "devices")
	if code != 0 || !strings.Contains(out, "CPUExecutionProvider") || !strings.Contains(out, "onnxruntime 1.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestInspect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	writeTinyCheckpoint(t, dir)
	code, out, errOut := capture(t, "", "inspect", "--model", dir)
	if code != 0 || !strings.Contains(out, "tensors     13") || !strings.Contains(out, "BF16 x13") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	path := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-10], 0o644)
	code, out, errOut = capture(t, "", "inspect", "--model", dir)
	if code == 0 || !strings.Contains(errOut, "model.safetensors") || !strings.Contains(errOut, "truncated") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("truncated checkpoint: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = capture(t, "", "inspect", "--model", filepath.Join(dir, "nope"))
	if code == 0 || !strings.Contains(errOut, "config.json") {
		t.Fatalf("missing folder: exit %d, stderr %q", code, errOut)
	}
}

func TestConfigFileSetsFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.json")
	os.WriteFile(path, []byte(`{"steps": 7, "group_size": 3, "algo": "grpo"}`), 0o644)
	var root CLI
	parser, err := kong.New(&root, kong.Vars(runDefaults()), kong.Configuration(loadConfigFile), kong.Bind(&root.Globals))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse([]string{"run", "--config", path, "--group-size", "5"}); err != nil {
		t.Fatal(err)
	}
	if root.Run.Steps != 7 || root.Run.Algo != "grpo" || root.Run.GroupSize != 5 {
		t.Fatalf("steps %d, algo %s, group size %d: want 7 from the file, grpo from the file, 5 from the command line", root.Run.Steps, root.Run.Algo, root.Run.GroupSize)
	}
}
