package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ltecli/lte"
)

// TestHintTemplatesRecordedAsText: a hint template given as a file reaches the configuration
// as its text, so that run_config.json holds what the run used.
func TestHintTemplatesRecordedAsText(t *testing.T) {
	dir := t.TempDir()
	hint := filepath.Join(dir, "hint.txt")
	text := "{{.Question}} Not {{.AnswerList}}."
	os.WriteFile(hint, []byte(text), 0o644)
	c := parseRun(t, "--model", "m", "--train", "t", "--hint-template", hint)
	cfg := c.config(lte.AlgoLTE)
	if err := c.readHintTemplates(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HintTemplate != text || cfg.ConciseHintTemplate != "" || cfg.ConciseTemplate != "" {
		t.Errorf("templates %q, %q, %q", cfg.HintTemplate, cfg.ConciseHintTemplate, cfg.ConciseTemplate)
	}
	if _, err := lte.NewHintEngine(cfg.HintTemplate, cfg.ConciseHintTemplate, cfg.ConciseTemplate, 8); err != nil {
		t.Errorf("recorded template does not parse: %v", err)
	}
	c = parseRun(t, "--model", "m", "--train", "t", "--concise-template", filepath.Join(dir, "missing.txt"))
	if err := c.readHintTemplates(&cfg); err == nil || !strings.Contains(err.Error(), "--concise-template") {
		t.Errorf("missing template file: %v", err)
	}
}
