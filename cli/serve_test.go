package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"ltecli/lte"
	"ltecli/lte/eval"
)

// startServe runs `ltecli serve` in-process on 127.0.0.1 and a free port.
func startServe(t *testing.T, cmd ServeCmd) *serving {
	t.Helper()
	cmd.Host, cmd.Port = "127.0.0.1", 0
	if cmd.MaxRows == 0 {
		cmd.MaxRows = 512
	}
	s, err := cmd.start(&Globals{Provider: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runArgs are a short LTE run on the embedded model and task that checkpoints every step and
// validates (before and after training) through the same generator as the rollouts.
func runArgs(out string, steps string, extra ...string) []string {
	return append([]string{"run", "--out", out, "--steps", steps, "--batch-problems", "4", "--group-size", "4",
		"--checkpoint-every", "1", "--keep-checkpoints", "5", "--val-every", "100", "--val-n", "2", "--val-k", "1,2", "--val-limit", "8",
		"--temperature", "1", "--seed", "3"}, extra...)
}

// runRecord is what a run leaves that must not depend on where samples came from: the
// metrics without timings, every sample, and the parameters of every checkpoint.
type runRecord struct {
	metrics []lte.Metrics
	samples []lte.SampleRecord
	params  map[string][]byte
}

func readRun(t *testing.T, dir string) runRecord {
	t.Helper()
	ms, err := readMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		ms[i].Timing = nil // wall times differ between any two runs
	}
	samples, err := lte.ReadSamples(filepath.Join(dir, lte.SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	rec := runRecord{metrics: ms, samples: samples, params: map[string][]byte{}}
	ckpts, _ := filepath.Glob(filepath.Join(dir, lte.CheckpointsDir, "step-*"))
	for _, c := range ckpts {
		data, err := os.ReadFile(filepath.Join(c, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		rec.params[filepath.Base(c)] = data
	}
	return rec
}

func compareRuns(t *testing.T, name string, got, want runRecord) {
	t.Helper()
	if !reflect.DeepEqual(got.metrics, want.metrics) {
		t.Errorf("%s: metrics differ\n got %v\nwant %v", name, got.metrics, want.metrics)
	}
	if len(got.samples) != len(want.samples) {
		t.Fatalf("%s: %d samples, want %d", name, len(got.samples), len(want.samples))
	}
	for i := range want.samples {
		if !reflect.DeepEqual(got.samples[i], want.samples[i]) {
			t.Fatalf("%s: sample %d\n got %+v\nwant %+v", name, i, got.samples[i], want.samples[i])
		}
	}
	if len(want.params) == 0 || len(got.params) != len(want.params) {
		t.Fatalf("%s: checkpoints %d, want %d", name, len(got.params), len(want.params))
	}
	for step, w := range want.params {
		if !reflect.DeepEqual(got.params[step], w) {
			t.Errorf("%s: parameters of %s differ", name, step)
		}
	}
}

// TestRunOnServeMatchesLocal trains LTE two steps with the local backend, then with
// --backend sglang against `ltecli serve`, whose server is killed in the middle of step 2: that
// step fails with an error naming the URL, and --resume against a fresh server finishes the
// run. Metrics, samples (with rewards and advantages) and the parameters of every checkpoint
// are those of the local run, bit for bit: the engine gets each step's weights, draws the
// same random streams from the seeds the requests carry, and returns the tokens and
// behaviour log-probs exactly.
func TestRunOnServeMatchesLocal(t *testing.T) {
	work := t.TempDir()
	localDir := filepath.Join(work, "local")
	if code, _, errOut := capture(t, "", runArgs(localDir, "2")...); code != 0 {
		t.Fatalf("local run: %s", errOut)
	}
	want := readRun(t, localDir)
	if want.metrics[1].Hints.HintedGroups == 0 || want.metrics[2].Hints.HintedGroups == 0 {
		t.Fatal("a step without hinted samples: the behaviour log-probs of the backend would go unused")
	}

	var mu sync.Mutex
	loads, killed := 0, false
	var victim *serving
	kill := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if r.URL.Path == "/update_weights_from_disk" {
				loads++
			}
			// Loads: the model at the start, then the weights of step 1; the next rollout
			// request belongs to step 2.
			cut := r.URL.Path == "/generate" && loads == 2 && !killed
			killed = killed || cut
			mu.Unlock()
			if cut {
				victim.http.Close()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	victim = startServe(t, ServeCmd{wrap: kill})
	remoteDir := filepath.Join(work, "remote")
	code, _, errOut := capture(t, "", runArgs(remoteDir, "2", "--backend", "sglang", "--backend-url", victim.URL, "--backend-retries", "1")...)
	if code == 0 || !killed {
		t.Fatalf("run against a killed server: exit %d, killed %v", code, killed)
	}
	if !strings.Contains(errOut, "step 2") || !strings.Contains(errOut, victim.URL+"/generate") {
		t.Errorf("the error does not name the step and the URL: %q", errOut)
	}
	fresh := startServe(t, ServeCmd{})
	code, _, errOut = capture(t, "", runArgs(remoteDir, "2", "--backend", "sglang", "--backend-url", fresh.URL, "--resume")...)
	if code != 0 {
		t.Fatalf("resume: %s", errOut)
	}
	compareRuns(t, "sglang backend, killed and resumed", readRun(t, remoteDir), want)
	if v := fresh.engine.Version(); v != "step-2" {
		t.Errorf("the engine reports weight version %q, want step-2", v)
	}
}

// TestEvalOnServeMatchesLocal: eval with --backend sglang and --backend openai against
// `ltecli serve` gives the local backend's samples and Pass@k.
func TestEvalOnServeMatchesLocal(t *testing.T) {
	dir, err := embeddedDir()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, ServeCmd{})
	work := t.TempDir()
	args := func(out string, extra ...string) []string {
		return append([]string{"eval", "--model", dir, "--bench", "tiny=" + filepath.Join(dir, embeddedVal), "--limit", "6",
			"--n", "4", "--k", "1,4", "--max-tokens", "24", "--temperature", "1", "--top-p", "1", "--batch", "3", "--seed", "5", "--out", out, "--json"}, extra...)
	}
	read := func(out string) (eval.Results, []eval.Sample) {
		res, err := eval.ReadResults(filepath.Join(out, eval.ResultsFile))
		if err != nil {
			t.Fatal(err)
		}
		samples, _, err := eval.ReadSamples(filepath.Join(out, eval.SamplesFile))
		if err != nil {
			t.Fatal(err)
		}
		return res, samples
	}
	if code, _, errOut := capture(t, "", args(filepath.Join(work, "local"))...); code != 0 {
		t.Fatalf("local eval: %s", errOut)
	}
	wantRes, wantSamples := read(filepath.Join(work, "local"))
	if p := wantRes.Benchmarks["tiny"].Pass; len(p) != 2 || p[4] == 0 || p[4] == 1 {
		t.Fatalf("local results %+v: want a pass@4 strictly between 0 and 1, so that a difference shows", wantRes)
	}
	for _, protocol := range []string{"sglang", "openai"} {
		out := filepath.Join(work, protocol)
		if code, _, errOut := capture(t, "", args(out, "--backend", protocol, "--backend-url", srv.URL)...); code != 0 {
			t.Fatalf("%s eval: %s", protocol, errOut)
		}
		res, samples := read(out)
		if !reflect.DeepEqual(res, wantRes) {
			t.Errorf("%s: results %+v, want %+v", protocol, res, wantRes)
		}
		if !reflect.DeepEqual(samples, wantSamples) {
			t.Errorf("%s: samples differ from the local backend's", protocol)
		}
	}
	code, _, errOut := capture(t, "", args(filepath.Join(work, "bad"), "--backend", "sglang")...)
	if code == 0 || !strings.Contains(errOut, "--backend-url") {
		t.Errorf("sglang without a URL: exit %d, %q", code, errOut)
	}
}

// TestServeCommandAnswers: the command's server reports the model it serves.
func TestServeCommandAnswers(t *testing.T) {
	srv := startServe(t, ServeCmd{Name: "tiny"})
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct{ ID, Root string } `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	if len(list.Data) != 1 || list.Data[0].ID != "tiny" {
		t.Errorf("/v1/models: %+v", list)
	}
	if _, err := os.Stat(list.Data[0].Root); err != nil {
		t.Errorf("the served model's root %q: %v", list.Data[0].Root, err)
	}
}
