package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// exactCheck is a stand-in verifier: a response is correct when it equals the gold answer.
func exactCheck(response, gold string) (bool, string) { return response == gold, response }

// craftedLines are samples of two benchmarks: "m" with 4 samples per problem (1, 4 and 0
// correct), "q" with 2 and 3 samples (1 and 0 correct); ids and gold also as JSON numbers.
// The stored "correct" fields are wrong on purpose: rescoring must not trust them.
var craftedLines = []string{
	`{"benchmark":"m","id":1,"gold":"7","response":"7","correct":false}`,
	`{"benchmark":"m","id":1,"gold":"7","response":"8","correct":true}`,
	`{"benchmark":"q","id":"x","gold":70.0,"response":"70.0"}`,
	`{"benchmark":"m","id":1,"gold":"7","response":"9"}`,
	`{"benchmark":"m","id":1,"gold":"7","response":""}`,
	`{"benchmark":"m","id":2,"gold":"a","response":"a"}`,
	`{"benchmark":"m","id":2,"gold":"a","response":"a"}`,
	`{"benchmark":"q","id":"x","gold":70.0,"response":"70"}`,
	`{"benchmark":"m","id":2,"gold":"a","response":"a"}`,
	`{"benchmark":"m","id":2,"gold":"a","response":"a"}`,
	`{"benchmark":"m","id":3,"gold":"b","response":"c"}`,
	`{"benchmark":"m","id":3,"gold":"b","response":"c"}`,
	`{"benchmark":"q","id":"y","gold":"1","response":"2"}`,
	`{"benchmark":"m","id":3,"gold":"b","response":"c"}`,
	`{"benchmark":"m","id":3,"gold":"b","response":"c"}`,
	`{"benchmark":"q","id":"y","gold":"1","response":"2"}`,
	`{"benchmark":"q","id":"y","gold":"1","response":"2"}`,
}

// checkCrafted rescores samples and compares with the hand-computed numbers of craftedLines.
func checkCrafted(t *testing.T, samples []Sample) {
	t.Helper()
	if len(samples) != len(craftedLines) {
		t.Fatalf("read %d samples, want %d", len(samples), len(craftedLines))
	}
	res, err := Aggregate(Rescore(samples, exactCheck, TruncatedWrong), []int{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	compareResults(t, res, craftedResults("m", "q"))
	if samples[2].ID != "x" || samples[2].Gold != "70.0" || samples[0].ID != "1" || !samples[0].Correct || samples[1].Correct || samples[1].Pred != "8" {
		t.Errorf("samples not read or rescored as written: %+v %+v %+v", samples[0], samples[1], samples[2])
	}
}

func TestRescorePlain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samples.jsonl")
	os.WriteFile(path, []byte(strings.Join(craftedLines, "\n")+"\n"), 0o644)
	samples, ignored, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if ignored != 0 {
		t.Errorf("ignored %d bytes of a plain file", ignored)
	}
	checkCrafted(t, samples)
}

// TestRescoreZstd reads the crafted lines as several zstd frames (and one skippable frame)
// followed by an incomplete frame, which is skipped.
func TestRescoreZstd(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	var file []byte
	for _, part := range [][]string{craftedLines[:5], craftedLines[5:6], craftedLines[6:]} {
		file = enc.EncodeAll([]byte(strings.Join(part, "\n")+"\n"), file)
	}
	file = append(file, 0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c') // a skippable frame
	tail := enc.EncodeAll([]byte(strings.Repeat(craftedLines[0]+"\n", 50)), nil)
	for _, cut := range []int{1, 3, 9, len(tail) - 1} {
		path := filepath.Join(t.TempDir(), "samples.zst")
		os.WriteFile(path, append(bytes.Clone(file), tail[:cut]...), 0o644)
		samples, ignored, err := ReadSamples(path)
		if err != nil {
			t.Fatalf("tail cut at %d: %v", cut, err)
		}
		if ignored != int64(cut) {
			t.Errorf("tail cut at %d: ignored %d bytes", cut, ignored)
		}
		checkCrafted(t, samples)
	}
}

func TestReadSamplesErrors(t *testing.T) {
	for i, tc := range []struct{ line, err string }{
		{`{"id":1,"gold":"7","response":"7"}`, "2: no benchmark"},
		{`{"benchmark":"m","gold":"7","response":"7"}`, "2: no id"},
		{`{"benchmark":"m","id":1,"response":"7"}`, "2: no gold"},
		{`{"benchmark":"m","id":1,"gold":"7"}`, "2: no response"},
		{`{"benchmark":"m","id":[1],"gold":"7","response":"7"}`, "2: id: must be a string or a number"},
		{`{"benchmark":"m",`, "2: unexpected end of JSON input"},
	} {
		path := filepath.Join(t.TempDir(), "s.jsonl")
		os.WriteFile(path, []byte(craftedLines[0]+"\n"+tc.line+"\n"), 0o644)
		_, _, err := ReadSamples(path)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, tc.err)
		}
	}
}
