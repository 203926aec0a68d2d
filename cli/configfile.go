package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/alecthomas/kong"
)

// configFile is the resolver of a --config file: a JSON object whose keys are the flag names
// of the chosen command with _ for - ("group_size": 8). Unlike kong.JSON it refuses an
// empty or malformed file and keys that name no flag of the command, suggesting the nearest
// flag, so that a misspelt setting is never silently ignored.
type configFile struct {
	path   string
	values map[string]any
	ctx    *kong.Context // the parse, seen by Resolve, for Validate to list the command's flags
}

// loadConfigFile is the kong.Configuration loader.
func loadConfigFile(r io.Reader) (kong.Resolver, error) {
	path := "config file"
	if f, ok := r.(*os.File); ok {
		path = f.Name()
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%s is empty: --config wants a JSON object of flag values, such as {\"group_size\": 8}", path)
	}
	values := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&values); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of flag values: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s holds more than one JSON value: --config wants one object of flag values", path)
	}
	return &configFile{path: path, values: values}, nil
}

// configKey is the key of a flag in a config file.
func configKey(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

func (c *configFile) Resolve(ctx *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
	c.ctx = ctx
	v, ok := c.values[configKey(flag.Name)]
	if !ok {
		return nil, nil
	}
	return plainJSON(v), nil
}

// plainJSON turns a top-level json.Number into a string, which kong parses into the flag's
// type without the rounding of float64 (a 64-bit seed stays exact). Lists keep their
// json.Numbers, which kong re-encodes as JSON numbers.
func plainJSON(v any) any {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return v
}

// Validate refuses keys that are no flag of the chosen command.
func (c *configFile) Validate(*kong.Application) error {
	if c.ctx == nil {
		return nil
	}
	known := map[string]bool{}
	var names []string
	for _, f := range c.ctx.Flags() {
		if f.Hidden {
			continue
		}
		known[configKey(f.Name)] = true
		names = append(names, configKey(f.Name))
	}
	var unknown []string
	for k := range c.values {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	var parts []string
	for _, k := range unknown {
		if near := nearest(k, names); near != "" {
			parts = append(parts, fmt.Sprintf("%q (did you mean %q?)", k, near))
		} else {
			parts = append(parts, fmt.Sprintf("%q", k))
		}
	}
	cmd := "ltecli"
	if s := c.ctx.Selected(); s != nil {
		cmd += " " + s.Path()
	}
	return fmt.Errorf("%s: unknown key %s: no flag of %s has that name (keys are flag names with _ for -)", c.path, strings.Join(parts, ", "), cmd)
}

// nearest returns the name closest to key in edit distance, if it is close enough to be a
// likely misspelling.
func nearest(key string, names []string) string {
	best, bestD := "", len(key)/2+2
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (with adjacent transpositions) of a and b.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
