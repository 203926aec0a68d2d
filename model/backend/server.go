package backend

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"ltecli/model/generate"
)

// ServerConfig is what a Server serves.
type ServerConfig struct {
	Model    generate.Model
	Vocab    int
	StopIDs  []int  // tokens that end every sample (the model's end-of-sequence tokens)
	Name     string // the model's id in /v1/models and in answers
	Path     string // the model folder it was loaded from
	MaxBatch int    // prompts per prefill call; 0 means all of a batch at once
	MaxRows  int    // samples gathered into one batch at most; 0 means 512
	// Decode turns tokens into text (answers carry text beside the ids); nil leaves it empty.
	Decode func(ids []int) string
	// Encode tokenizes text prompts; nil accepts token ids only.
	Encode func(text string) []int
	// Load replaces the weights by those of a model folder; nil refuses weight updates. It
	// runs while no batch does.
	Load func(dir string) error
}

// Server serves a local model over SGLang's native protocol (/generate, /model_info,
// /update_weights_from_disk, /health) and the OpenAI-compatible completions as vLLM serves
// them (/v1/completions, /v1/models): the subset that Client uses. Concurrent requests are
// gathered into batches: a batch starts as soon as the engine is free, with every request
// that arrived while it was busy.
type Server struct {
	cfg     ServerConfig
	mux     *http.ServeMux
	jobs    chan *job
	quit    chan struct{}
	stopped sync.WaitGroup
	created int64
	queued  atomic.Int64 // jobs queued since the start

	engine  sync.Mutex // held while a batch runs or weights load
	state   sync.Mutex // guards path and version
	path    string
	version string
}

// NewServer starts the batching loop; Close stops it.
func NewServer(cfg ServerConfig) *Server {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 512
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), jobs: make(chan *job, 4096), quit: make(chan struct{}),
		created: time.Now().Unix(), path: cfg.Path, version: "initial"}
	s.mux.HandleFunc("POST /generate", s.handleGenerate)
	s.mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s.mux.HandleFunc("GET /model_info", s.handleModelInfo)
	s.mux.HandleFunc("GET /get_model_info", s.handleModelInfo)
	s.mux.HandleFunc("POST /update_weights_from_disk", s.handleUpdateWeights)
	s.stopped.Add(1)
	go s.loop()
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the batching loop; requests still waiting get an error.
func (s *Server) Close() {
	close(s.quit)
	s.stopped.Wait()
}

// Version is the weight version the server reports.
func (s *Server) Version() string {
	s.state.Lock()
	defer s.state.Unlock()
	return s.version
}

// item is one prompt of a request with the seed of its first sample and its sample count.
type item struct {
	prompt []int
	seed   uint64
	n      int
}

// job is the items of one request that share sampling parameters.
type job struct {
	items []item
	p     generate.Params // without N and Seeds
	out   [][]generate.Sample
	err   error
	done  chan struct{}
}

func (j *job) rows() int {
	n := 0
	for _, it := range j.items {
		n += it.n
	}
	return n
}

// submit queues jobs and waits for them.
func (s *Server) submit(jobs []*job) error {
	for _, j := range jobs {
		j.done = make(chan struct{})
		j.out = make([][]generate.Sample, len(j.items))
		select {
		case s.jobs <- j:
			s.queued.Add(1)
		case <-s.quit:
			return errors.New("the server is shutting down")
		}
	}
	for _, j := range jobs {
		select {
		case <-j.done:
			if j.err != nil {
				return j.err
			}
		case <-s.quit:
			return errors.New("the server is shutting down")
		}
	}
	return nil
}

func (s *Server) loop() {
	defer s.stopped.Done()
	for {
		var batch []*job
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-s.quit:
			return
		}
		rows := batch[0].rows()
	gather:
		for rows < s.cfg.MaxRows {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
				rows += j.rows()
			default:
				break gather
			}
		}
		s.run(batch)
	}
}

// entry is a prompt of a Generate call: one or more consecutive items of the same prompt
// whose seeds continue one another (s, s+n1, ...), so that one prefill serves them all.
type entry struct {
	prompt []int
	seed   uint64
	n      int
	parts  []part
}

type part struct {
	job  *job
	item int
	n    int
}

// run generates the jobs of one batch: jobs with the same sampling parameters share Generate
// calls, one per distinct sample count.
func (s *Server) run(batch []*job) {
	s.engine.Lock()
	defer s.engine.Unlock()
	var keys []string
	groups := map[string][]*job{}
	for _, j := range batch {
		k := fmt.Sprintf("%d/%v/%v/%d/%v", j.p.MaxNewTokens, j.p.Temperature, j.p.TopP, j.p.TopK, j.p.StopIDs)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], j)
	}
	for _, k := range keys {
		jobs := groups[k]
		var entries []*entry
		for _, j := range jobs {
			for i, it := range j.items {
				if last := len(entries) - 1; last >= 0 && entries[last].seed+uint64(entries[last].n) == it.seed && slices.Equal(entries[last].prompt, it.prompt) {
					entries[last].n += it.n
					entries[last].parts = append(entries[last].parts, part{j, i, it.n})
					continue
				}
				entries = append(entries, &entry{prompt: it.prompt, seed: it.seed, n: it.n, parts: []part{{j, i, it.n}}})
			}
		}
		byN := map[int][]*entry{}
		var ns []int
		for _, e := range entries {
			if _, ok := byN[e.n]; !ok {
				ns = append(ns, e.n)
			}
			byN[e.n] = append(byN[e.n], e)
		}
		for _, n := range ns {
			es := byN[n]
			prompts := make([][]int, len(es))
			seeds := make([]uint64, len(es))
			for i, e := range es {
				prompts[i], seeds[i] = e.prompt, e.seed
			}
			p := jobs[0].p
			p.N, p.Seeds, p.MaxBatch = n, seeds, s.cfg.MaxBatch
			samples, err := generate.Generate(s.cfg.Model, s.cfg.Vocab, prompts, p)
			for i, e := range es {
				next := i * n
				for _, pt := range e.parts {
					if err != nil {
						pt.job.err = err
						continue
					}
					got := slices.Clone(samples[next : next+pt.n])
					for k := range got {
						got[k].Index = k
					}
					pt.job.out[pt.item] = got
					next += pt.n
				}
			}
		}
	}
	for _, j := range batch {
		close(j.done)
	}
}

// stops merges a request's stop tokens with the model's.
func (s *Server) stops(extra []int, ignoreEOS bool) []int {
	var out []int
	if !ignoreEOS {
		out = append(out, s.cfg.StopIDs...)
	}
	for _, id := range extra {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 2
}

func requestID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	kind := "BadRequestError"
	switch {
	case status == http.StatusNotFound:
		kind = "NotFoundError"
	case status >= 500:
		kind = "InternalServerError"
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Message: fmt.Sprintf(format, args...), Type: kind, Code: status}})
}

// decodeBody reads a JSON body, refusing unknown shapes with a 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body: %v", err)
		return false
	}
	return true
}

// checkPrompt refuses empty prompts and tokens outside the vocabulary.
func (s *Server) checkPrompt(ids []int) error {
	if len(ids) == 0 {
		return errors.New("empty prompt")
	}
	for _, id := range ids {
		if id < 0 || id >= s.cfg.Vocab {
			return fmt.Errorf("token %d outside the vocabulary of %d", id, s.cfg.Vocab)
		}
	}
	return nil
}

// prompts reads a prompt field: token ids, a list of them, a string or a list of strings.
// nested says whether it was a list of prompts.
func (s *Server) prompts(raw json.RawMessage) (out [][]int, nested bool, err error) {
	var one []int
	var many [][]int
	var text string
	var texts []string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, false, errors.New("no prompt")
	case json.Unmarshal(raw, &one) == nil:
		out = [][]int{one}
	case json.Unmarshal(raw, &many) == nil:
		out, nested = many, true
	case json.Unmarshal(raw, &text) == nil || json.Unmarshal(raw, &texts) == nil:
		if s.cfg.Encode == nil {
			return nil, false, errors.New("this server takes token ids only")
		}
		if texts == nil {
			texts = []string{text}
		} else {
			nested = true
		}
		for _, t := range texts {
			out = append(out, s.cfg.Encode(t))
		}
	default:
		return nil, false, errors.New("want token ids, a list of token-id lists, a string or a list of strings")
	}
	if len(out) == 0 {
		return nil, false, errors.New("empty batch")
	}
	for i, p := range out {
		if err := s.checkPrompt(p); err != nil {
			return nil, false, fmt.Errorf("prompt %d: %w", i, err)
		}
	}
	return out, nested, nil
}

func (s *Server) decode(ids []int) string {
	if s.cfg.Decode == nil {
		return ""
	}
	return s.cfg.Decode(ids)
}

// withStop returns the sample's tokens and log-probs with its stop token appended, as engines
// report them.
func withStop(smp generate.Sample) ([]int, []float32) {
	ids, lps := slices.Clone(smp.IDs), slices.Clone(smp.Logprobs)
	if smp.StopID >= 0 {
		ids, lps = append(ids, smp.StopID), append(lps, smp.StopLogprob)
	}
	return ids, lps
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	var req sglangRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Stream {
		writeError(w, http.StatusBadRequest, "stream is not served: send stream = false")
		return
	}
	raw := req.InputIDs
	if len(raw) == 0 {
		raw = req.Text
	}
	prompts, nested, err := s.prompts(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "input_ids: %v", err)
		return
	}
	sampling := make([]sglangSampling, len(prompts))
	if len(req.SamplingParams) > 0 && string(req.SamplingParams) != "null" {
		var one sglangSampling
		if err := json.Unmarshal(req.SamplingParams, &one); err == nil {
			for i := range sampling {
				sampling[i] = one
			}
		} else if err := json.Unmarshal(req.SamplingParams, &sampling); err != nil || len(sampling) != len(prompts) {
			writeError(w, http.StatusBadRequest, "sampling_params: want one object or one per prompt (%d)", len(prompts))
			return
		}
	}
	logprob := false
	var flags []bool
	if json.Unmarshal(req.ReturnLogprob, &logprob) != nil && json.Unmarshal(req.ReturnLogprob, &flags) == nil {
		logprob = slices.Contains(flags, true)
	}
	var jobs []*job
	byKey := map[string]*job{}
	type where struct {
		job  *job
		item int
		sp   sglangSampling
	}
	places := make([]where, len(prompts))
	for i, sp := range sampling {
		p, n, seed, err := sp.params(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "sampling_params: %v", err)
			return
		}
		key := fmt.Sprint(p.MaxNewTokens, p.Temperature, p.TopP, p.TopK, p.StopIDs)
		j := byKey[key]
		if j == nil {
			j = &job{p: p}
			byKey[key] = j
			jobs = append(jobs, j)
		}
		places[i] = where{j, len(j.items), sp}
		j.items = append(j.items, item{prompt: prompts[i], seed: seed, n: n})
	}
	if err := s.submit(jobs); err != nil {
		writeError(w, http.StatusInternalServerError, "generation failed: %v", err)
		return
	}
	version := s.Version()
	var answers []sglangResponse
	for i, pl := range places {
		for _, smp := range pl.job.out[pl.item] {
			ids, lps := withStop(smp)
			finish := map[string]any{"type": smp.FinishReason}
			if smp.StopID >= 0 {
				finish["matched"] = smp.StopID
			} else {
				finish["length"] = pl.job.p.MaxNewTokens
			}
			meta := map[string]any{
				"id": requestID(""), "finish_reason": finish, "prompt_tokens": len(prompts[i]),
				"completion_tokens": len(ids), "weight_version": version,
			}
			if logprob {
				entries := make([][]any, len(ids))
				for k := range ids {
					entries[k] = []any{lps[k], ids[k], nil}
				}
				meta["output_token_logprobs"] = entries
			}
			answers = append(answers, sglangResponse{Text: s.decode(smp.IDs), OutputIDs: ids, Meta: meta})
		}
	}
	if !nested && len(answers) == 1 {
		writeJSON(w, http.StatusOK, answers[0])
		return
	}
	writeJSON(w, http.StatusOK, answers)
}

// params turns SGLang sampling_params into generation parameters, a sample count and the
// seed of the first sample, with SGLang's defaults for missing fields.
func (sp sglangSampling) params(s *Server) (generate.Params, int, uint64, error) {
	p := generate.Params{MaxNewTokens: 128, Temperature: 1, TopP: 1}
	if sp.MaxNewTokens != nil {
		p.MaxNewTokens = *sp.MaxNewTokens
	}
	if sp.Temperature != nil {
		p.Temperature = *sp.Temperature
	}
	if sp.TopP != nil {
		p.TopP = *sp.TopP
	}
	if sp.TopK != nil && *sp.TopK > 0 {
		p.TopK = *sp.TopK
	}
	n := 1
	if sp.N != nil {
		n = *sp.N
	}
	if sp.Stop != nil || sp.MinNewTokens != 0 || (sp.RepetitionPen != nil && *sp.RepetitionPen != 1) {
		return p, 0, 0, errors.New("stop strings, min_new_tokens and repetition_penalty are not served")
	}
	p.StopIDs = s.stops(sp.StopTokenIDs, sp.IgnoreEOS)
	if err := checkSampling(p, n); err != nil {
		return p, 0, 0, err
	}
	seed := randomSeed()
	if sp.SamplingSeed != nil {
		seed = uint64(*sp.SamplingSeed)
	}
	return p, n, seed, nil
}

func checkSampling(p generate.Params, n int) error {
	return Params{N: n, MaxNewTokens: p.MaxNewTokens, Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK}.check()
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req openaiRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.state.Lock()
	path := s.path
	s.state.Unlock()
	if req.Model != "" && req.Model != s.cfg.Name && req.Model != path {
		writeError(w, http.StatusNotFound, "the model %q does not exist: this server serves %q", req.Model, s.cfg.Name)
		return
	}
	if req.Stream || req.Echo || req.Stop != nil {
		writeError(w, http.StatusBadRequest, "stream, echo and stop strings are not served")
		return
	}
	if req.Logprobs != nil && *req.Logprobs > 0 {
		writeError(w, http.StatusBadRequest, "logprobs = %d: only 0 (the sampled token's log-probability) is served", *req.Logprobs)
		return
	}
	prompts, _, err := s.prompts(req.Prompt)
	if err != nil {
		writeError(w, http.StatusBadRequest, "prompt: %v", err)
		return
	}
	p := generate.Params{MaxNewTokens: 16, Temperature: 1, TopP: 1}
	if req.MaxTokens != nil {
		p.MaxNewTokens = *req.MaxTokens
	}
	if req.Temperature != nil {
		p.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		p.TopP = *req.TopP
	}
	if req.TopK != nil && *req.TopK > 0 {
		p.TopK = *req.TopK
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	p.StopIDs = s.stops(req.StopTokenIDs, req.IgnoreEOS)
	if err := checkSampling(p, n); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	seed := randomSeed()
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}
	j := &job{p: p}
	for _, pr := range prompts {
		j.items = append(j.items, item{prompt: pr, seed: seed, n: n})
	}
	if err := s.submit([]*job{j}); err != nil {
		writeError(w, http.StatusInternalServerError, "generation failed: %v", err)
		return
	}
	resp := openaiResponse{ID: requestID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: s.cfg.Name}
	for i, samples := range j.out {
		resp.Usage.PromptTokens += len(prompts[i])
		for _, smp := range samples {
			ids, lps := withStop(smp)
			ch := openaiChoice{Index: i*n + smp.Index, Text: s.decode(smp.IDs), FinishReason: smp.FinishReason}
			if smp.StopID >= 0 && slices.Contains(req.StopTokenIDs, smp.StopID) {
				ch.StopReason = smp.StopID
			}
			if req.ReturnTokenIDs {
				ch.TokenIDs = ids
			}
			if req.Logprobs != nil {
				lp := &openaiLogprobs{TokenLogprobs: lps, Tokens: make([]string, len(ids)), TextOffset: make([]int, len(ids)),
					TopLogprobs: make([]map[string]float32, len(ids))}
				offset := 0
				for k, id := range ids {
					text := s.decode([]int{id})
					if req.ReturnTokensAsTokenIDs {
						lp.Tokens[k] = fmt.Sprintf("token_id:%d", id)
					} else {
						lp.Tokens[k] = text
					}
					lp.TextOffset[k] = offset
					offset += len(text)
				}
				ch.Logprobs = lp
			}
			resp.Choices = append(resp.Choices, ch)
			resp.Usage.CompletionTokens += len(ids)
		}
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	s.state.Lock()
	path := s.path
	s.state.Unlock()
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{{ID: s.cfg.Name, Object: "model", Created: s.created, OwnedBy: "ltecli", Root: path}}})
}

func (s *Server) handleModelInfo(w http.ResponseWriter, _ *http.Request) {
	s.state.Lock()
	defer s.state.Unlock()
	writeJSON(w, http.StatusOK, modelInfo{ModelPath: s.path, TokenizerPath: s.path, IsGeneration: true, WeightVersion: s.version})
}

func (s *Server) handleUpdateWeights(w http.ResponseWriter, r *http.Request) {
	var req updateWeightsRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if s.cfg.Load == nil {
		writeJSON(w, http.StatusBadRequest, updateWeightsResponse{Message: "this server does not load weights"})
		return
	}
	if req.ModelPath == "" {
		writeJSON(w, http.StatusBadRequest, updateWeightsResponse{Message: "model_path is required"})
		return
	}
	s.engine.Lock()
	err := s.cfg.Load(req.ModelPath)
	s.engine.Unlock()
	if err != nil {
		writeJSON(w, http.StatusBadRequest, updateWeightsResponse{Message: fmt.Sprintf("loading %s: %v", req.ModelPath, err)})
		return
	}
	s.state.Lock()
	s.path = req.ModelPath
	if req.WeightVersion != "" {
		s.version = req.WeightVersion
	}
	s.state.Unlock()
	writeJSON(w, http.StatusOK, updateWeightsResponse{Success: true, Message: "Succeeded to update model weights."})
}

// Name is the served model's id.
func (s *Server) Name() string { return s.cfg.Name }
