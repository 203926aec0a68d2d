package eval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"ltecli/lte"
)

// BenchmarkNames are the six benchmarks of the paper, in its order. A data folder holds each
// as NAME.jsonl.
var BenchmarkNames = []string{"math500", "minerva", "olympiadbench", "amc23", "aime24", "aime25"}

// BenchmarkFile is a benchmark's name and the file of its problems.
type BenchmarkFile struct {
	Name string
	Path string
}

// ResolveBenchmarks turns benchmark specs into files. A spec is one of BenchmarkNames (the
// file NAME.jsonl in dataDir), "all" (the six), or "NAME=PATH" (any problem file that
// lte.LoadProblems reads). A name given twice is an error.
func ResolveBenchmarks(specs []string, dataDir string) ([]BenchmarkFile, error) {
	var files []BenchmarkFile
	for _, spec := range specs {
		if name, path, ok := strings.Cut(spec, "="); ok {
			if name == "" || path == "" {
				return nil, fmt.Errorf("benchmark %q: want NAME=PATH", spec)
			}
			files = append(files, BenchmarkFile{Name: name, Path: path})
			continue
		}
		names := []string{spec}
		if spec == "all" {
			names = BenchmarkNames
		} else if !slices.Contains(BenchmarkNames, spec) {
			return nil, fmt.Errorf("benchmark %q is not one of %s, all, or NAME=PATH", spec, strings.Join(BenchmarkNames, ", "))
		}
		if dataDir == "" {
			return nil, fmt.Errorf("benchmark %s: no data folder: pass --data DIR or set LTECLI_DATA to the folder of the benchmark files", spec)
		}
		for _, name := range names {
			files = append(files, BenchmarkFile{Name: name, Path: filepath.Join(dataDir, name+".jsonl")})
		}
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Name] {
			return nil, fmt.Errorf("benchmark %s is given twice", f.Name)
		}
		seen[f.Name] = true
	}
	if len(files) == 0 {
		return nil, errors.New("no benchmark given")
	}
	return files, nil
}

// Benchmark is a named set of problems.
type Benchmark struct {
	Name     string
	Problems []lte.Problem
}

// LoadBenchmarks reads each file's problems, keeping the first limit of each when limit > 0.
func LoadBenchmarks(files []BenchmarkFile, limit int) ([]Benchmark, error) {
	out := make([]Benchmark, 0, len(files))
	for _, f := range files {
		if _, err := os.Stat(f.Path); err != nil {
			return nil, fmt.Errorf("benchmark %s: %w (ltecli does not ship benchmark files: point --data at a folder of NAME.jsonl files, or give NAME=PATH)", f.Name, err)
		}
		problems, err := lte.LoadProblems(f.Path, lte.Fields{})
		if err != nil {
			return nil, fmt.Errorf("benchmark %s: %w", f.Name, err)
		}
		if limit > 0 && len(problems) > limit {
			problems = problems[:limit]
		}
		out = append(out, Benchmark{Name: f.Name, Problems: problems})
	}
	return out, nil
}
