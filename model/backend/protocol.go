package backend

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The wire formats, as far as this package uses them.
//
// SGLang's native API: POST /generate takes input_ids (one prompt or a batch), sampling_params
// (one object or one per prompt) and return_logprob; the answer (a list for a batch) carries
// meta_info.output_token_logprobs as [logprob, token_id, text] triples and
// meta_info.finish_reason {"type": "stop"|"length", "matched": ...}.
// https://docs.sglang.io/basic_usage/sampling_params.html (the /generate arguments and
// sampling_params: max_new_tokens, stop_token_ids, temperature, top_p, top_k, n, ignore_eos,
// skip_special_tokens; sampling_seed is a field of SamplingParams in
// python/sglang/srt/sampling/sampling_params.py) and
// https://docs.sglang.io/basic_usage/native_api.html (/generate, /health, /model_info,
// /update_weights_from_disk with model_path and weight_version, answering success and message).
// SGLang reports log-probs of the temperature-scaled distribution before top-k/top-p
// filtering (unless SGLANG_RETURN_ORIGINAL_LOGPROB is set), and honours sampling_seed only
// with --enable-deterministic-inference.
//
// OpenAI-compatible completions as vLLM serves them: POST /v1/completions with prompt as a
// token-id list, n, seed, logprobs (0: only the sampled token's), and the vLLM extras
// top_k, stop_token_ids, return_tokens_as_token_ids (tokens come back as "token_id:N") and
// return_token_ids; each choice has logprobs.tokens, logprobs.token_logprobs, finish_reason
// and stop_reason. vLLM seeds a request's n samples with seed+j (vllm/v1/engine/
// parallel_sampling.py) and by default reports raw log-probs; start it with
// --logprobs-mode processed_logprobs for those of the temperature-scaled distribution.
// https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html (Completions API,
// extra parameters) and vllm/entrypoints/openai/completion/protocol.py (CompletionRequest,
// CompletionLogProbs, CompletionResponseChoice).

// sglangSampling is SGLang's sampling_params.
type sglangSampling struct {
	MaxNewTokens  *int     `json:"max_new_tokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"top_p,omitempty"`
	TopK          *int     `json:"top_k,omitempty"`
	StopTokenIDs  []int    `json:"stop_token_ids,omitempty"`
	N             *int     `json:"n,omitempty"`
	IgnoreEOS     bool     `json:"ignore_eos,omitempty"`
	SamplingSeed  *int64   `json:"sampling_seed,omitempty"`
	SkipSpecial   *bool    `json:"skip_special_tokens,omitempty"`
	NoStopTrim    bool     `json:"no_stop_trim,omitempty"`
	MinNewTokens  int      `json:"min_new_tokens,omitempty"`
	Stop          any      `json:"stop,omitempty"`
	RepetitionPen *float64 `json:"repetition_penalty,omitempty"`
}

// sglangRequest is the body of POST /generate. InputIDs is [ids] or [[ids], ...];
// SamplingParams is one object or a list of them.
type sglangRequest struct {
	Text           json.RawMessage `json:"text,omitempty"`
	InputIDs       json.RawMessage `json:"input_ids,omitempty"`
	SamplingParams json.RawMessage `json:"sampling_params,omitempty"`
	ReturnLogprob  json.RawMessage `json:"return_logprob,omitempty"`
	Stream         bool            `json:"stream,omitempty"`
}

type sglangFinish struct {
	Type    string `json:"type"`
	Matched any    `json:"matched,omitempty"`
	Length  int    `json:"length,omitempty"`
}

// sglangResponse is one answer of POST /generate.
type sglangResponse struct {
	Text      string         `json:"text"`
	OutputIDs []int          `json:"output_ids"`
	Meta      map[string]any `json:"meta_info"`
}

// openaiRequest is the body of POST /v1/completions. Prompt is a token-id list, a list of
// them, a string or a list of strings.
type openaiRequest struct {
	Model                  string          `json:"model,omitempty"`
	Prompt                 json.RawMessage `json:"prompt"`
	MaxTokens              *int            `json:"max_tokens,omitempty"`
	Temperature            *float64        `json:"temperature,omitempty"`
	TopP                   *float64        `json:"top_p,omitempty"`
	TopK                   *int            `json:"top_k,omitempty"`
	N                      *int            `json:"n,omitempty"`
	Seed                   *int64          `json:"seed,omitempty"`
	Logprobs               *int            `json:"logprobs,omitempty"`
	StopTokenIDs           []int           `json:"stop_token_ids,omitempty"`
	IgnoreEOS              bool            `json:"ignore_eos,omitempty"`
	ReturnTokensAsTokenIDs bool            `json:"return_tokens_as_token_ids,omitempty"`
	ReturnTokenIDs         bool            `json:"return_token_ids,omitempty"`
	SkipSpecialTokens      *bool           `json:"skip_special_tokens,omitempty"`
	Stream                 bool            `json:"stream,omitempty"`
	Echo                   bool            `json:"echo,omitempty"`
	Stop                   any             `json:"stop,omitempty"`
}

type openaiLogprobs struct {
	TextOffset    []int                `json:"text_offset"`
	TokenLogprobs []float32            `json:"token_logprobs"`
	Tokens        []string             `json:"tokens"`
	TopLogprobs   []map[string]float32 `json:"top_logprobs"`
}

type openaiChoice struct {
	Index        int             `json:"index"`
	Text         string          `json:"text"`
	Logprobs     *openaiLogprobs `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
	StopReason   any             `json:"stop_reason"`
	TokenIDs     []int           `json:"token_ids,omitempty"`
}

type openaiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type openaiResponse struct {
	ID      string         `json:"id"`
	Object  string         `json:"object"`
	Created int64          `json:"created"`
	Model   string         `json:"model"`
	Choices []openaiChoice `json:"choices"`
	Usage   openaiUsage    `json:"usage"`
}

type modelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Root    string `json:"root"`
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelCard `json:"data"`
}

// updateWeightsRequest is the body of SGLang's POST /update_weights_from_disk.
type updateWeightsRequest struct {
	ModelPath     string `json:"model_path"`
	LoadFormat    string `json:"load_format,omitempty"`
	WeightVersion string `json:"weight_version,omitempty"`
}

type updateWeightsResponse struct {
	Success           bool   `json:"success"`
	Message           string `json:"message"`
	NumPausedRequests int    `json:"num_paused_requests"`
}

// modelInfo is the answer of SGLang's GET /model_info (formerly /get_model_info).
type modelInfo struct {
	ModelPath     string `json:"model_path"`
	TokenizerPath string `json:"tokenizer_path"`
	IsGeneration  bool   `json:"is_generation"`
	WeightVersion string `json:"weight_version"`
}

// errorBody is the error answer of both servers.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

// tokenIDOf parses vLLM's "token_id:N" token strings.
func tokenIDOf(tok string) (int, error) {
	s, ok := strings.CutPrefix(tok, "token_id:")
	if !ok {
		return 0, fmt.Errorf("token %q is not of the form token_id:N (does the server honour return_tokens_as_token_ids?)", tok)
	}
	return strconv.Atoi(s)
}

// parseOutputLogprobs reads SGLang's output_token_logprobs: [logprob, token_id, text] each.
func parseOutputLogprobs(raw any) ([]int, []float32, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("meta_info.output_token_logprobs is missing or not a list (was return_logprob sent?)")
	}
	ids := make([]int, len(list))
	lps := make([]float32, len(list))
	for i, e := range list {
		t, ok := e.([]any)
		if !ok || len(t) < 2 {
			return nil, nil, fmt.Errorf("output_token_logprobs[%d] is not a [logprob, token_id, ...] entry", i)
		}
		lp, ok1 := t[0].(json.Number)
		id, ok2 := t[1].(json.Number)
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("output_token_logprobs[%d] = %v: want numbers", i, t)
		}
		f, err1 := strconv.ParseFloat(string(lp), 32)
		n, err2 := strconv.Atoi(string(id))
		if err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("output_token_logprobs[%d] = %v: want a float and an integer", i, t)
		}
		ids[i], lps[i] = n, float32(f)
	}
	return ids, lps, nil
}
