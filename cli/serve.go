package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ltecli/model/backend"
	"ltecli/model/generate"
	"ltecli/model/qwen3"
	"ltecli/model/tokenizer"
	"ltecli/weights"
)

// ServeCmd serves the local engine over SGLang's native API and the OpenAI-compatible
// completions API, for `ltecli run/eval --backend sglang|openai` on other machines.
type ServeCmd struct {
	Model    string `name:"model" type:"path" help:"Hugging Face Qwen3 folder to serve (default: the embedded tiny model)."`
	Host     string `name:"host" default:"127.0.0.1" help:"Address to listen on (0.0.0.0 for every interface)."`
	Port     int    `name:"port" default:"30000" help:"Port to listen on (0: any free port)."`
	Name     string `name:"served-model-name" help:"Model id in /v1/models and the OpenAI \"model\" field (default: the model folder)."`
	MaxBatch int    `name:"max-batch" default:"0" help:"Prompts per prefill call (0: a whole batch at once)."`
	MaxRows  int    `name:"max-rows" default:"512" help:"Samples gathered from concurrent requests into one batch at most."`

	// wrap, when set, wraps the handler (tests watch or cut the traffic with it).
	wrap func(http.Handler) http.Handler
}

// serving is a running server.
type serving struct {
	URL    string
	http   *http.Server
	engine *backend.Server
	model  *qwen3.Model
	done   chan error
}

// Close stops accepting requests, drops open connections and frees the model.
func (s *serving) Close() error {
	err := s.http.Close()
	<-s.done
	s.engine.Close()
	s.model.Close()
	return err
}

// start loads the model and listens; the server runs until Close.
func (c *ServeCmd) start(g *Globals) (*serving, error) {
	dir := c.Model
	if dir == "" {
		var err error
		if dir, err = embeddedDir(); err != nil {
			return nil, err
		}
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	m, err := g.loadModel(dir)
	if err != nil {
		return nil, err
	}
	name := c.Name
	if name == "" {
		name = dir
	}
	engine := backend.NewServer(backend.ServerConfig{
		Model: m, Vocab: m.Config.VocabSize, StopIDs: generate.StopIDs(m.Config, tok, dir), Name: name, Path: dir,
		MaxBatch: c.MaxBatch, MaxRows: c.MaxRows, Decode: tok.Decode, Encode: tok.Encode,
		Load: func(folder string) error {
			ckpt, err := weights.OpenCheckpoint(folder)
			if err != nil {
				return err
			}
			params, err := qwen3.LoadParams(m.Config, ckpt)
			if err != nil {
				return fmt.Errorf("%s does not fit the served model: %w", folder, err)
			}
			copy(m.Params.Data, params.Data)
			return nil
		},
	})
	l, err := net.Listen("tcp", net.JoinHostPort(c.Host, fmt.Sprint(c.Port)))
	if err != nil {
		engine.Close()
		m.Close()
		return nil, fmt.Errorf("serve: %w (is another server on that port? choose another --port)", err)
	}
	var handler http.Handler = engine
	if c.wrap != nil {
		handler = c.wrap(engine)
	}
	s := &serving{URL: "http://" + l.Addr().String(), http: &http.Server{Handler: handler, ReadHeaderTimeout: time.Minute},
		engine: engine, model: m, done: make(chan error, 1)}
	go func() { s.done <- s.http.Serve(l) }()
	return s, nil
}

// Run serves until interrupted.
func (c *ServeCmd) Run(g *Globals) error {
	s, err := c.start(g)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serving %s on %s (SGLang /generate, OpenAI /v1/completions, /v1/models, /model_info, /update_weights_from_disk, /health)\n",
		s.engine.Name(), s.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.http.Shutdown(shutdown)
	err = <-s.done
	s.done <- err
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
