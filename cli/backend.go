package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"ltecli/model/backend"
	"ltecli/model/qwen3"
)

// BackendFlags choose where rollouts and evaluation samples come from.
type BackendFlags struct {
	Backend        string        `name:"backend" default:"local" enum:"local,sglang,openai" help:"Where samples come from: local (this process), sglang (SGLang's /generate, or ltecli serve) or openai (/v1/completions as vLLM serves it)."`
	BackendURL     []string      `name:"backend-url" sep:"," help:"Engine base URLs (repeat the flag or give a comma list); requests are spread across them."`
	BackendTimeout time.Duration `name:"backend-timeout" default:"30m" help:"Time limit of one HTTP request to an engine."`
	BackendRetries int           `name:"backend-retries" default:"4" help:"Retries, with exponential backoff from 0.5s, of a request refused, reset or answered with a 5xx."`
}

// generator returns local for --backend local, else an HTTP client for the engines.
func (b *BackendFlags) generator(local backend.Generator) (backend.Generator, *backend.Client, error) {
	if b.Backend == "" || b.Backend == "local" {
		if len(b.BackendURL) > 0 {
			return nil, nil, fmt.Errorf("--backend-url needs --backend sglang or openai")
		}
		return local, nil, nil
	}
	var urls []string
	for _, u := range b.BackendURL {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	c, err := backend.NewClient(b.Backend, urls)
	if err != nil {
		return nil, nil, err
	}
	c.Timeout, c.Retries, c.Log = b.BackendTimeout, b.BackendRetries, os.Stderr
	return c, c, nil
}

// engineWeights writes the trainer's current parameters as a model folder under
// RUN/engine/step-NNNNNN for the engines to load, keeping the newest two.
func engineWeights(runDir, srcModel string, step int, m *qwen3.Model) (string, error) {
	base := filepath.Join(runDir, "engine")
	dir := filepath.Join(base, fmt.Sprintf("step-%06d", step))
	if err := qwen3.SaveModel(dir, srcModel, m.Params); err != nil {
		return "", fmt.Errorf("writing the weights for the engine: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(base, "step-*"))
	var done []string
	for _, p := range old {
		if filepath.Ext(p) == "" {
			done = append(done, p)
		}
	}
	sort.Strings(done)
	for len(done) > 2 {
		os.RemoveAll(done[0])
		done = done[1:]
	}
	return dir, nil
}

// loadEngine makes the engines sample from a model folder, reporting the step as its version.
func loadEngine(c *backend.Client, dir string, step int) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := c.LoadWeights(context.Background(), abs, fmt.Sprintf("step-%d", step)); err != nil {
		return fmt.Errorf("giving the engine the weights of step %d: %w", step, err)
	}
	return nil
}
