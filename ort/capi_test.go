package ort

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ortAPIMembers lists the members of struct OrtApi in header order, as the macros in
// onnxruntime_c_api.h name them.
func ortAPIMembers(header string) ([]string, error) {
	start := strings.Index(header, "struct OrtApi {")
	if start < 0 {
		return nil, os.ErrNotExist
	}
	body := header[start+len("struct OrtApi {"):]
	depth, end := 1, 0
	for i, c := range body {
		if c == '{' {
			depth++
		} else if c == '}' {
			depth--
		}
		if depth == 0 {
			end = i
			break
		}
	}
	body = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(body[:end], "")
	body = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(body, "")
	patterns := []struct {
		re     *regexp.Regexp
		prefix string
	}{
		{regexp.MustCompile(`^ORT_API2?_STATUS\(\s*(\w+)`), ""},
		{regexp.MustCompile(`^ORT_CLASS_RELEASE\(\s*(\w+)`), "Release"},
		{regexp.MustCompile(`^ORT_API_T\(\s*[^,]+,\s*(\w+)`), ""},
		{regexp.MustCompile(`\(\s*ORT_API_CALL\s*\*\s*(\w+)\s*\)`), ""},
	}
	var names []string
	for _, decl := range strings.Split(body, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		name := ""
		for _, p := range patterns {
			if m := p.re.FindStringSubmatch(decl); m != nil {
				name = p.prefix + m[1]
				break
			}
		}
		if name == "" {
			return nil, &os.PathError{Op: "parse OrtApi member", Path: decl}
		}
		names = append(names, name)
	}
	return names, nil
}

// TestAPISlotsMatchHeader checks every slot this package calls against onnxruntime_c_api.h as
// shipped in the onnxruntime_go module.
func TestAPISlotsMatchHeader(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	if err != nil {
		t.Fatalf("locating the onnxruntime_go module (go mod download fills it): %v", err)
	}
	header, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "onnxruntime_c_api.h"))
	if err != nil {
		t.Fatal(err)
	}
	members, err := ortAPIMembers(string(header))
	if err != nil {
		t.Fatal(err)
	}
	// Landmarks that pin the parse itself: the first member and two well-known positions.
	if members[0] != "CreateStatus" || members[1] != "GetErrorCode" || len(members) < int(slotCopyTensors)+1 {
		t.Fatalf("header parse looks wrong: %d members starting %v", len(members), members[:3])
	}
	src, err := os.ReadFile("capi.go")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^\s+slot\w+\s+apiSlot = \d+$`).FindAll(src, -1)); n != len(apiSlotNames) {
		t.Fatalf("capi.go declares %d slots, apiSlotNames names %d", n, len(apiSlotNames))
	}
	for slot, name := range apiSlotNames {
		if int(slot) >= len(members) || members[slot] != name {
			got := "past the end"
			if int(slot) < len(members) {
				got = members[slot]
			}
			t.Errorf("slot %d is %s in the header, this package calls it %s", slot, got, name)
		}
	}
}
