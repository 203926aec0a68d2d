package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"ltecli/model/generate"
)

// Protocols a Client speaks.
const (
	SGLang = "sglang" // SGLang's native /generate
	OpenAI = "openai" // /v1/completions as vLLM serves it
)

// Client is a Generator that sends prompts to inference engines over HTTP. With several URLs,
// prompts are spread across them (prompt i goes to URL i mod len(URLs)), and a request that
// fails is retried on the next URL.
type Client struct {
	Protocol string
	URLs     []string // base URLs, e.g. http://10.0.0.5:30000
	// Model is the "model" field of OpenAI requests; empty means the first model that
	// GET /v1/models lists.
	Model   string
	Timeout time.Duration // per HTTP request; 0 means none
	Retries int           // further attempts after a refused connection, a reset or a 5xx
	Backoff time.Duration // wait before the first retry, doubled before each next one
	// PerURL bounds the requests in flight to one URL (OpenAI sends one per prompt).
	PerURL int
	// RefreshTimeout bounds how long LoadWeights waits for an OpenAI-protocol engine to serve
	// a new checkpoint (it cannot be told to load one).
	RefreshTimeout time.Duration
	// Log receives notes on retries and waits; nil for none.
	Log io.Writer

	http      *http.Client
	modelOnce sync.Once
	modelErr  error
}

// NewClient checks the protocol and URLs and returns a client with default timeouts.
func NewClient(protocol string, urls []string) (*Client, error) {
	if protocol != SGLang && protocol != OpenAI {
		return nil, fmt.Errorf("backend protocol %q: want %s or %s", protocol, SGLang, OpenAI)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("the %s backend needs --backend-url (the engine's address, e.g. http://127.0.0.1:30000)", protocol)
	}
	var clean []string
	for _, u := range urls {
		parsed, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return nil, fmt.Errorf("backend URL %q: want http://HOST:PORT", u)
		}
		clean = append(clean, strings.TrimRight(parsed.String(), "/"))
	}
	return &Client{
		Protocol: protocol, URLs: clean, Timeout: 30 * time.Minute, Retries: 4, Backoff: 500 * time.Millisecond,
		PerURL: 64, RefreshTimeout: 30 * time.Minute,
	}, nil
}

func (c *Client) client() *http.Client {
	if c.http == nil {
		c.http = &http.Client{Timeout: c.Timeout}
	}
	return c.http
}

// Generate sends the prompts to the engines: with SGLang one /generate request per URL,
// holding each of its prompts N times with the seeds PromptSeed(Seed, i)+j; with OpenAI one
// /v1/completions request per prompt, with n = N and seed PromptSeed(Seed, i).
func (c *Client) Generate(ctx context.Context, prompts [][]int, p Params) ([]generate.Sample, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("%s backend: %w", c.Protocol, err)
	}
	stop := map[int]bool{}
	for _, id := range p.StopIDs {
		stop[id] = true
	}
	out := make([]generate.Sample, len(prompts)*p.N)
	var errs []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	if c.Protocol == SGLang {
		for u := range c.URLs {
			var mine []int
			for i := u; i < len(prompts); i += len(c.URLs) {
				mine = append(mine, i)
			}
			if len(mine) == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.sglangGenerate(ctx, u, prompts, mine, p, stop, out); err != nil {
					fail(err)
				}
			}()
		}
	} else {
		if err := c.resolveModel(ctx); err != nil {
			return nil, err
		}
		slots := make([]chan struct{}, len(c.URLs))
		for u := range slots {
			slots[u] = make(chan struct{}, max(c.PerURL, 1))
		}
		for i := range prompts {
			u := i % len(c.URLs)
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots[u] <- struct{}{}
				defer func() { <-slots[u] }()
				if err := c.openaiGenerate(ctx, u, prompts[i], i, p, stop, out[i*p.N:(i+1)*p.N]); err != nil {
					fail(err)
				}
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return out, nil
}

func (c *Client) sglangGenerate(ctx context.Context, u int, prompts [][]int, mine []int, p Params, stop map[int]bool, out []generate.Sample) error {
	var ids [][]int
	var sampling []sglangSampling
	maxNew, one := p.MaxNewTokens, 1
	temp, topP, topK := p.Temperature, p.TopP, p.TopK
	if topP == 0 {
		topP = 1
	}
	if topK == 0 {
		topK = -1
	}
	skip := false
	for _, i := range mine {
		first := generate.PromptSeed(p.Seed, i)
		for j := 0; j < p.N; j++ {
			seed := int64(first) + int64(j)
			ids = append(ids, prompts[i])
			sampling = append(sampling, sglangSampling{
				MaxNewTokens: &maxNew, Temperature: &temp, TopP: &topP, TopK: &topK, StopTokenIDs: p.StopIDs,
				N: &one, SamplingSeed: &seed, SkipSpecial: &skip,
			})
		}
	}
	body := map[string]any{"input_ids": ids, "sampling_params": sampling, "return_logprob": true}
	var answers []sglangResponse
	if err := c.do(ctx, u, http.MethodPost, "/generate", body, &answers); err != nil {
		return err
	}
	if len(answers) != len(ids) {
		return fmt.Errorf("%s/generate answered %d results for %d inputs", c.URLs[u], len(answers), len(ids))
	}
	for k, a := range answers {
		i, j := mine[k/p.N], k%p.N
		toks, lps, err := parseOutputLogprobs(a.Meta["output_token_logprobs"])
		if err != nil {
			return fmt.Errorf("%s/generate: result %d: %w", c.URLs[u], k, err)
		}
		finish, _ := a.Meta["finish_reason"].(map[string]any)
		kind, _ := finish["type"].(string)
		s, err := splitStop(i, j, toks, lps, kind, stop)
		if err != nil {
			return fmt.Errorf("%s/generate: result %d: %w", c.URLs[u], k, err)
		}
		out[i*p.N+j] = s
	}
	return nil
}

func (c *Client) openaiGenerate(ctx context.Context, u int, prompt []int, i int, p Params, stop map[int]bool, out []generate.Sample) error {
	maxNew, n, zero := p.MaxNewTokens, p.N, 0
	temp, topP, topK := p.Temperature, p.TopP, p.TopK
	if topP == 0 {
		topP = 1
	}
	if topK == 0 {
		topK = -1
	}
	seed := int64(generate.PromptSeed(p.Seed, i))
	skip := false
	raw, _ := json.Marshal(prompt)
	req := openaiRequest{
		Model: c.Model, Prompt: raw, MaxTokens: &maxNew, Temperature: &temp, TopP: &topP, TopK: &topK, N: &n, Seed: &seed,
		Logprobs: &zero, StopTokenIDs: p.StopIDs, ReturnTokensAsTokenIDs: true, ReturnTokenIDs: true, SkipSpecialTokens: &skip,
	}
	var resp openaiResponse
	if err := c.do(ctx, u, http.MethodPost, "/v1/completions", req, &resp); err != nil {
		return err
	}
	if len(resp.Choices) != p.N {
		return fmt.Errorf("%s/v1/completions answered %d choices, want n = %d", c.URLs[u], len(resp.Choices), p.N)
	}
	for _, ch := range resp.Choices {
		if ch.Index < 0 || ch.Index >= p.N {
			return fmt.Errorf("%s/v1/completions: choice index %d outside 0..%d", c.URLs[u], ch.Index, p.N-1)
		}
		if ch.Logprobs == nil {
			return fmt.Errorf("%s/v1/completions: a choice without logprobs (the request asked for logprobs = 0)", c.URLs[u])
		}
		ids := make([]int, len(ch.Logprobs.Tokens))
		for k, tok := range ch.Logprobs.Tokens {
			id, err := tokenIDOf(tok)
			if err != nil {
				return fmt.Errorf("%s/v1/completions: %w", c.URLs[u], err)
			}
			ids[k] = id
		}
		if ch.TokenIDs != nil && !slices.Equal(ch.TokenIDs, ids) {
			return fmt.Errorf("%s/v1/completions: token_ids %v disagree with the logprobs' tokens %v", c.URLs[u], ch.TokenIDs, ids)
		}
		s, err := splitStop(i, ch.Index, ids, ch.Logprobs.TokenLogprobs, ch.FinishReason, stop)
		if err != nil {
			return fmt.Errorf("%s/v1/completions: %w", c.URLs[u], err)
		}
		out[ch.Index] = s
	}
	return nil
}

// resolveModel fills Model from GET /v1/models when it is empty.
func (c *Client) resolveModel(ctx context.Context) error {
	c.modelOnce.Do(func() {
		if c.Model != "" {
			return
		}
		var list modelList
		if c.modelErr = c.do(ctx, 0, http.MethodGet, "/v1/models", nil, &list); c.modelErr != nil {
			return
		}
		if len(list.Data) == 0 {
			c.modelErr = fmt.Errorf("%s/v1/models lists no model", c.URLs[0])
			return
		}
		c.Model = list.Data[0].ID
	})
	return c.modelErr
}

// LoadWeights makes every engine sample from the model folder dir. SGLang engines are asked
// to load it (POST /update_weights_from_disk with weight_version = version) and must then
// report that version (GET /model_info, or /get_model_info on older SGLang). An
// OpenAI-protocol engine (vLLM) has no such request: LoadWeights waits, up to RefreshTimeout,
// until GET /v1/models lists dir as a model's root, i.e. until the user (or a script
// watching the run's engine folder) has restarted it with `vllm serve DIR`.
func (c *Client) LoadWeights(ctx context.Context, dir, version string) error {
	if c.Protocol == OpenAI {
		return c.waitForModel(ctx, dir)
	}
	for u := range c.URLs {
		var resp updateWeightsResponse
		if err := c.do(ctx, u, http.MethodPost, "/update_weights_from_disk", updateWeightsRequest{ModelPath: dir, WeightVersion: version}, &resp); err != nil {
			return err
		}
		if !resp.Success {
			return fmt.Errorf("%s could not load %s: %s", c.URLs[u], dir, resp.Message)
		}
		var info modelInfo
		err := c.doOnce(ctx, u, http.MethodGet, "/model_info", nil, &info)
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusNotFound {
			err = c.doOnce(ctx, u, http.MethodGet, "/get_model_info", nil, &info)
		}
		if err != nil {
			return fmt.Errorf("checking the weight version: %w", err)
		}
		switch {
		case info.WeightVersion == version:
		case info.WeightVersion == "" && filepath.Clean(info.ModelPath) == filepath.Clean(dir):
		default:
			return fmt.Errorf("%s reports weight version %q (model %s) after loading %s as version %q", c.URLs[u], info.WeightVersion, info.ModelPath, dir, version)
		}
	}
	return nil
}

func (c *Client) waitForModel(ctx context.Context, dir string) error {
	deadline := time.Now().Add(c.RefreshTimeout)
	poll := min(time.Second, c.RefreshTimeout/10+time.Millisecond)
	for u := range c.URLs {
		noted := false
		for {
			id, err := c.servedAs(ctx, u, dir)
			if err != nil {
				return err
			}
			if id != "" {
				c.Model = id
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not serve %s after %s: an OpenAI-protocol engine cannot be told to load weights; restart it on the new checkpoint (vllm serve %s), or use --backend sglang", c.URLs[u], dir, c.RefreshTimeout, dir)
			}
			if !noted && c.Log != nil {
				fmt.Fprintf(c.Log, "waiting for %s to serve %s: restart the engine on it (vllm serve %s --logprobs-mode processed_logprobs)\n", c.URLs[u], dir, dir)
				noted = true
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(poll):
			}
		}
	}
	return nil
}

// servedAs returns the id under which URL u serves the model folder dir, or "" when it
// serves another.
func (c *Client) servedAs(ctx context.Context, u int, dir string) (string, error) {
	var list modelList
	if err := c.do(ctx, u, http.MethodGet, "/v1/models", nil, &list); err != nil {
		return "", err
	}
	for _, m := range list.Data {
		if filepath.Clean(m.Root) == filepath.Clean(dir) || filepath.Clean(m.ID) == filepath.Clean(dir) {
			return m.ID, nil
		}
	}
	return "", nil
}

// httpError is an answer with a status other than 200.
type httpError struct {
	url    string
	status int
	body   string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s answered %d: %s", e.url, e.status, e.body)
}

// retryable says whether an attempt's error may pass on the next attempt: refused or reset
// connections, timeouts, and 5xx or 429 answers.
func retryable(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.status >= 500 || he.status == http.StatusTooManyRequests
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}

// do sends one request with retries: attempt k goes to URL u+k (mod the URLs), after a wait
// of Backoff·2^(k-1).
func (c *Client) do(ctx context.Context, u int, method, path string, body, out any) error {
	var err error
	wait := c.Backoff
	attempts := 1 + max(c.Retries, 0)
	for k := 0; k < attempts; k++ {
		target := (u + k) % len(c.URLs)
		if k > 0 {
			if c.Log != nil {
				fmt.Fprintf(c.Log, "%s backend: %v; retrying in %s\n", c.Protocol, err, wait)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait = time.Duration(math.Min(float64(2*wait), float64(time.Minute)))
		}
		if err = c.doOnce(ctx, target, method, path, body, out); err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && retryable(err) {
		return fmt.Errorf("%s backend: %w (%d attempts; is the engine running? check --backend-url, or start one with `ltecli serve --model DIR --port N`)", c.Protocol, err, attempts)
	}
	if err != nil {
		return fmt.Errorf("%s backend: %w", c.Protocol, err)
	}
	return nil
}

// doOnce sends one request and decodes a 200 answer into out (numbers kept as json.Number).
func (c *Client) doOnce(ctx context.Context, u int, method, path string, body, out any) error {
	target := c.URLs[u] + path
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &httpError{url: method + " " + target, status: resp.StatusCode, body: strings.TrimSpace(string(raw[:min(len(raw), 500)]))}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: the answer is not what the protocol says: %w", method, target, err)
	}
	return nil
}
