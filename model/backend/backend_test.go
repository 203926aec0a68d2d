package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ltecli/model/generate"
	"ltecli/model/qwen3"
	"ltecli/model/qwen3/qwen3test"
)

const vocab = 29

func tinyModel(t *testing.T, seed uint64) *qwen3.Model {
	t.Helper()
	cfg := qwen3.Config{ModelType: "qwen3", VocabSize: vocab, HiddenSize: 16, IntermediateSize: 24, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 4, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, HiddenAct: "silu"}
	s, err := qwen3test.Store(cfg, seed, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m := qwen3.New(cfg, s, qwen3.Options{})
	t.Cleanup(func() { m.Close() })
	return m
}

// countingModel counts prefill calls (one per Generate call chunk).
type countingModel struct {
	*qwen3.Model
	prefills atomic.Int32
}

func (c *countingModel) Prefill(b qwen3.Batch) ([]float32, *qwen3.KVCache, error) {
	c.prefills.Add(1)
	return c.Model.Prefill(b)
}

func startServer(t *testing.T, cfg ServerConfig) (*Server, string) {
	t.Helper()
	srv := NewServer(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return srv, hs.URL
}

func testClient(t *testing.T, protocol string, urls ...string) *Client {
	t.Helper()
	c, err := NewClient(protocol, urls)
	if err != nil {
		t.Fatal(err)
	}
	c.Retries, c.Backoff, c.Timeout = 2, time.Millisecond, time.Minute
	return c
}

var (
	testPrompts = [][]int{{1, 2, 3}, {4}, {5, 6, 7, 8, 9}, {10, 11}}
	stopIDs     = []int{0, 28}
)

// TestClientMatchesLocal: against the server, both protocols return the local backend's
// samples for the same seed. SGLang sends the call as one batch, which the server runs as one
// Generate call like the local backend does, so even the log-probabilities agree bit for bit;
// OpenAI sends one request per prompt, which the server may batch differently, so there the
// tokens agree exactly and the log-probabilities to rounding.
func TestClientMatchesLocal(t *testing.T) {
	m := tinyModel(t, 1)
	_, url := startServer(t, ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny", Path: "/models/tiny"})
	local := &Local{Model: m, Vocab: vocab}
	for _, p := range []Params{
		{N: 3, MaxNewTokens: 9, Temperature: 1, StopIDs: stopIDs, Seed: 11},
		{N: 2, MaxNewTokens: 9, Temperature: 0.7, TopP: 0.9, TopK: 12, StopIDs: stopIDs, Seed: 12},
		{N: 1, MaxNewTokens: 6, StopIDs: stopIDs},
	} {
		want, err := local.Generate(context.Background(), testPrompts, p)
		if err != nil {
			t.Fatal(err)
		}
		stops := 0
		for _, s := range want {
			if s.StopID >= 0 {
				stops++
			}
		}
		for _, protocol := range []string{SGLang, OpenAI} {
			got, err := testClient(t, protocol, url).Generate(context.Background(), testPrompts, p)
			if err != nil {
				t.Fatalf("%s %+v: %v", protocol, p, err)
			}
			if protocol == SGLang {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %+v:\n got %+v\nwant %+v", protocol, p, got, want)
				}
				continue
			}
			sameTokens(t, protocol, got, want, 1e-5)
		}
		if p.Temperature == 1 && stops == 0 {
			t.Errorf("%+v: no sample stopped on a stop token, so splitting stop tokens went untested", p)
		}
	}
}

func sameTokens(t *testing.T, name string, got, want []generate.Sample, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", name, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Prompt != w.Prompt || g.Index != w.Index || !reflect.DeepEqual(g.IDs, w.IDs) || g.StopID != w.StopID || g.FinishReason != w.FinishReason {
			t.Fatalf("%s: sample %d is %+v, want %+v", name, i, g, w)
		}
		for k := range w.Logprobs {
			if math.Abs(float64(g.Logprobs[k]-w.Logprobs[k])) > tol {
				t.Errorf("%s: sample %d token %d log-prob %g, want %g", name, i, k, g.Logprobs[k], w.Logprobs[k])
			}
		}
		if math.Abs(float64(g.StopLogprob-w.StopLogprob)) > tol {
			t.Errorf("%s: sample %d stop log-prob %g, want %g", name, i, g.StopLogprob, w.StopLogprob)
		}
	}
}

// TestSeveralURLs: prompts are spread across the servers, and the samples are still the local
// backend's.
func TestSeveralURLs(t *testing.T) {
	m := tinyModel(t, 2)
	var hits [2]atomic.Int32
	var urls []string
	for k := range hits {
		srv := NewServer(ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny"})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[k].Add(1)
			srv.ServeHTTP(w, r)
		}))
		t.Cleanup(func() { hs.Close(); srv.Close() })
		urls = append(urls, hs.URL)
	}
	p := Params{N: 2, MaxNewTokens: 8, Temperature: 1, StopIDs: stopIDs, Seed: 5}
	want, _ := (&Local{Model: m, Vocab: vocab}).Generate(context.Background(), testPrompts, p)
	for _, protocol := range []string{SGLang, OpenAI} {
		got, err := testClient(t, protocol, urls...).Generate(context.Background(), testPrompts, p)
		if err != nil {
			t.Fatal(err)
		}
		sameTokens(t, protocol, got, want, 1e-5)
	}
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Errorf("requests per server: %d and %d, want both used", hits[0].Load(), hits[1].Load())
	}
}

// TestServerBatchesConcurrentRequests: requests that arrive while the engine is busy run as
// one batch (one prefill), and each still gets its own samples.
func TestServerBatchesConcurrentRequests(t *testing.T) {
	m := &countingModel{Model: tinyModel(t, 3)}
	srv, url := startServer(t, ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny"})
	p := Params{N: 2, MaxNewTokens: 6, Temperature: 1, StopIDs: stopIDs, Seed: 9}
	want, _ := (&Local{Model: m.Model, Vocab: vocab}).Generate(context.Background(), testPrompts, p)
	srv.engine.Lock() // the engine is busy
	c := testClient(t, OpenAI, url)
	c.Model = "tiny"
	var got []generate.Sample
	var err error
	done := make(chan struct{})
	go func() {
		got, err = c.Generate(context.Background(), testPrompts, p)
		close(done)
	}()
	// The loop takes the first request (or the first few, arriving together) and waits for
	// the engine; the others queue.
	for deadline := time.Now().Add(30 * time.Second); srv.queued.Load() < int64(len(testPrompts)); {
		if time.Now().After(deadline) {
			srv.engine.Unlock()
			t.Fatalf("%d of %d requests queued", srv.queued.Load(), len(testPrompts))
		}
		time.Sleep(time.Millisecond)
	}
	m.prefills.Store(0)
	srv.engine.Unlock()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	sameTokens(t, "batched", got, want, 1e-5)
	if n := m.prefills.Load(); n < 1 || n > 2 {
		t.Errorf("%d prefill calls for %d concurrent requests, want 2 (what the loop took first, then the rest together)", n, len(testPrompts))
	}
}

// TestWireFormat posts the documented request shapes by hand and reads the fields the engines'
// documentation names.
func TestWireFormat(t *testing.T) {
	m := tinyModel(t, 4)
	_, url := startServer(t, ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny", Path: "/m",
		Decode: func(ids []int) string { return strings.Repeat("x", len(ids)) }})
	post := func(path, body string) (int, map[string]any, []any) {
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v any
		json.NewDecoder(resp.Body).Decode(&v)
		obj, _ := v.(map[string]any)
		list, _ := v.([]any)
		return resp.StatusCode, obj, list
	}
	code, obj, _ := post("/generate", `{"input_ids": [1, 2, 3], "sampling_params": {"temperature": 0, "max_new_tokens": 4}, "return_logprob": true}`)
	meta, _ := obj["meta_info"].(map[string]any)
	lps, _ := meta["output_token_logprobs"].([]any)
	ids, _ := obj["output_ids"].([]any)
	finish, _ := meta["finish_reason"].(map[string]any)
	if code != 200 || len(lps) == 0 || len(lps) != len(ids) || finish["type"] == nil || meta["weight_version"] != "initial" {
		t.Fatalf("/generate single: %d %v", code, obj)
	}
	if first, _ := lps[0].([]any); len(first) != 3 || first[1] != ids[0] || first[2] != nil {
		t.Errorf("output_token_logprobs[0] = %v, want [logprob, %v, null]", lps[0], ids[0])
	}
	if code, _, list := post("/generate", `{"input_ids": [[1, 2], [3]], "sampling_params": {"max_new_tokens": 2, "n": 2}}`); code != 200 || len(list) != 4 {
		t.Errorf("/generate batch of 2 with n = 2: %d, %d answers", code, len(list))
	}
	code, obj, _ = post("/v1/completions", `{"model": "tiny", "prompt": [[1, 2], [3]], "max_tokens": 3, "n": 2, "seed": 1, "logprobs": 0, "return_tokens_as_token_ids": true, "return_token_ids": true}`)
	choices, _ := obj["choices"].([]any)
	if code != 200 || len(choices) != 4 || obj["object"] != "text_completion" {
		t.Fatalf("/v1/completions: %d %v", code, obj)
	}
	ch := choices[3].(map[string]any)
	lp := ch["logprobs"].(map[string]any)
	toks := lp["tokens"].([]any)
	if ch["index"] != 3.0 || len(toks) != len(lp["token_logprobs"].([]any)) || !strings.HasPrefix(toks[0].(string), "token_id:") ||
		ch["finish_reason"] == nil || len(ch["token_ids"].([]any)) != len(toks) {
		t.Errorf("choice 3: %v", ch)
	}
	if code, obj, _ := post("/v1/completions", `{"model": "other", "prompt": [1]}`); code != 404 || obj["error"] == nil {
		t.Errorf("unknown model: %d %v", code, obj)
	}
	if code, _, _ := post("/generate", `{"input_ids": [1, 99]}`); code != 400 {
		t.Errorf("token outside the vocabulary: %d, want 400", code)
	}
	resp, err := http.Get(url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var models modelList
	json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if len(models.Data) != 1 || models.Data[0].ID != "tiny" || models.Data[0].Root != "/m" {
		t.Errorf("/v1/models: %+v", models)
	}
	if resp, err := http.Get(url + "/health"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/health: %v %v", resp, err)
	}
}

// TestLoadWeights: an SGLang-protocol load changes what the server samples and the version it
// reports; a failed load is an error naming the folder; an OpenAI-protocol engine that does
// not serve the folder is waited for, then reported.
func TestLoadWeights(t *testing.T) {
	m := tinyModel(t, 5)
	other := tinyModel(t, 6)
	var loaded []string
	srv, url := startServer(t, ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny", Path: "/start",
		Load: func(dir string) error {
			if dir == "/missing" {
				return errFake
			}
			loaded = append(loaded, dir)
			copy(m.Params.Data, other.Params.Data)
			return nil
		}})
	c := testClient(t, SGLang, url)
	if err := c.LoadWeights(context.Background(), "/ckpt/step-1", "step-1"); err != nil {
		t.Fatal(err)
	}
	if srv.Version() != "step-1" || !reflect.DeepEqual(loaded, []string{"/ckpt/step-1"}) {
		t.Errorf("version %q, loaded %v", srv.Version(), loaded)
	}
	p := Params{N: 2, MaxNewTokens: 6, Temperature: 1, StopIDs: stopIDs, Seed: 3}
	want, _ := (&Local{Model: other, Vocab: vocab}).Generate(context.Background(), testPrompts, p)
	got, err := c.Generate(context.Background(), testPrompts, p)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after loading, samples differ from the loaded model's (%v)", err)
	}
	if err := c.LoadWeights(context.Background(), "/missing", "step-2"); err == nil || !strings.Contains(err.Error(), "/missing") {
		t.Errorf("failed load: %v", err)
	}
	o := testClient(t, OpenAI, url)
	o.RefreshTimeout = 10 * time.Millisecond
	if err := o.LoadWeights(context.Background(), "/ckpt/step-1", "step-1"); err != nil {
		t.Errorf("OpenAI engine already serving the folder: %v", err)
	}
	if err := o.LoadWeights(context.Background(), "/ckpt/step-9", "step-9"); err == nil || !strings.Contains(err.Error(), "vllm serve /ckpt/step-9") || !strings.Contains(err.Error(), url) {
		t.Errorf("OpenAI engine serving another folder: %v", err)
	}
}

type fakeErr struct{}

func (fakeErr) Error() string { return "no such checkpoint" }

var errFake = fakeErr{}

// TestRetries: 5xx answers and refused connections are retried with backoff (on the next URL
// when there are several), 4xx answers are not, and the final error names the URL.
func TestRetries(t *testing.T) {
	m := tinyModel(t, 7)
	srv := NewServer(ServerConfig{Model: m, Vocab: vocab, StopIDs: stopIDs, Name: "tiny"})
	defer srv.Close()
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	p := Params{N: 1, MaxNewTokens: 3, Temperature: 1, StopIDs: stopIDs}
	if _, err := testClient(t, SGLang, flaky.URL).Generate(context.Background(), testPrompts[:1], p); err != nil || calls.Load() != 3 {
		t.Errorf("two 503s then success: %d calls, %v", calls.Load(), err)
	}
	calls.Store(0)
	c := testClient(t, SGLang, flaky.URL)
	c.Retries = 1
	if _, err := c.Generate(context.Background(), testPrompts[:1], p); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), flaky.URL) {
		t.Errorf("503s past the retries: %v", err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	_, err := testClient(t, SGLang, dead).Generate(context.Background(), testPrompts[:1], p)
	if err == nil || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "3 attempts") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("nothing listening: %v", err)
	}
	// With a second, live URL the retry goes there.
	live := httptest.NewServer(srv)
	defer live.Close()
	if _, err := testClient(t, SGLang, dead, live.URL).Generate(context.Background(), testPrompts, p); err != nil {
		t.Errorf("a dead and a live URL: %v", err)
	}

	var bad atomic.Int32
	reject := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad.Add(1)
		http.Error(w, "bad field", http.StatusBadRequest)
	}))
	defer reject.Close()
	if _, err := testClient(t, SGLang, reject.URL).Generate(context.Background(), testPrompts[:1], p); err == nil || bad.Load() != 1 || !strings.Contains(err.Error(), "bad field") {
		t.Errorf("400: %d calls, %v", bad.Load(), err)
	}
}

// TestClientRejectsMalformedAnswers: an answer that lacks what was asked for is an error, not a
// sample.
func TestClientRejectsMalformedAnswers(t *testing.T) {
	for _, tc := range []struct{ protocol, body string }{
		{SGLang, `[{"text": "", "output_ids": [3], "meta_info": {"finish_reason": {"type": "length"}}}]`},
		{SGLang, `[{"text": "", "meta_info": {"finish_reason": {"type": "abort"}, "output_token_logprobs": [[-1.5, 3, null]]}}]`},
		{OpenAI, `{"choices": [{"index": 0, "text": "a", "logprobs": {"tokens": ["a"], "token_logprobs": [-1]}, "finish_reason": "length"}]}`},
		{OpenAI, `{"choices": []}`},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			buf.ReadFrom(r.Body)
			w.Write([]byte(tc.body))
		}))
		c := testClient(t, tc.protocol, hs.URL)
		c.Model = "m"
		if _, err := c.Generate(context.Background(), testPrompts[:1], Params{N: 1, MaxNewTokens: 3}); err == nil {
			t.Errorf("%s %s: accepted", tc.protocol, tc.body)
		}
		hs.Close()
	}
	if _, err := NewClient("sglang", []string{"localhost:30000"}); err == nil {
		t.Error("a URL without scheme was accepted")
	}
	if _, err := NewClient("tgi", []string{"http://x"}); err == nil {
		t.Error("an unknown protocol was accepted")
	}
}
