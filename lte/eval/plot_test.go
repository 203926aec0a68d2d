package eval

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeMetrics writes a metrics.jsonl of steps 1..steps; validation every valEvery steps.
// The run has no entropy key, a key the reader does not know and an unfinished last line.
func writeMetrics(t *testing.T, dir string, steps, valEvery int) string {
	t.Helper()
	var b strings.Builder
	for s := 1; s <= steps; s++ {
		fmt.Fprintf(&b, `{"step":%d,"none_pass":%d,"some_pass":%d,"all_pass":%d,"reward_mean":%g,"response_len_mean":%d,"mode":"lte"`,
			s, 60-s/2, 50+s/3, 18+s/6, 0.3+float64(s)/200, 900+3*s)
		if s%valEvery == 0 {
			fmt.Fprintf(&b, `,"val_pass@1":%g,"val_pass@16":%g`, 0.4+float64(s)/1000, 0.6+float64(s)/1000)
		}
		b.WriteString("}\n")
	}
	b.WriteString(`{"step":999,"none_pa`)
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "metrics.jsonl")
	os.WriteFile(path, []byte(b.String()), 0o644)
	return path
}

func TestPlotMetrics(t *testing.T) {
	root := t.TempDir()
	var runs []RunMetrics
	for i, name := range []string{"grpo", "lte"} {
		lines, err := ReadMetrics(writeMetrics(t, filepath.Join(root, name), 60+10*i, 10))
		if err != nil {
			t.Fatal(err)
		}
		if want := 60 + 10*i; len(lines) != want {
			t.Fatalf("%s: read %d lines, want %d (the unfinished last one skipped)", name, len(lines), want)
		}
		ten := 10 // the values writeMetrics computes for step 10, at run time as it does
		if l := lines[9]; l.Step != 10 || l.Rollouts == nil || l.Rollouts.NonePass != 55 || l.Rollouts.RewardMean != 0.3+float64(ten)/200 || l.Validation[16] != 0.6+float64(ten)/1000 || l.Update != nil {
			t.Fatalf("%s: line 10 read as %+v", name, l)
		}
		runs = append(runs, RunMetrics{Name: name, Lines: lines})
	}
	out := filepath.Join(root, "plots")
	files, err := PlotMetrics(runs, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"none_pass.png", "some_pass.png", "all_pass.png", "reward_mean.png", "response_len_mean.png", "val_pass_at_1.png", "val_pass_at_16.png"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("charts %v, want %v (no entropy chart: no run has the key)", names, want)
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// 8 x 5 inches at 96 dots per inch.
		if b := img.Bounds(); b.Dx() != 768 || b.Dy() != 480 {
			t.Errorf("%s is %dx%d, want 768x480", f, b.Dx(), b.Dy())
		}
	}
}

func TestReadMetricsRejectsBadLine(t *testing.T) {
	for i, bad := range []string{"not json", `{"none_pass":3}`, `{"step":2,"val_pass@x":0.5}`, `{"step":2,"none_pass":"3"}`} {
		path := filepath.Join(t.TempDir(), "metrics.jsonl")
		os.WriteFile(path, []byte("{\"step\":1}\n"+bad+"\n{\"step\":2}\n"), 0o644)
		if _, err := ReadMetrics(path); err == nil || !strings.Contains(err.Error(), "metrics.jsonl:2:") {
			t.Errorf("case %d: error %v, want one naming line 2", i, err)
		}
	}
}
