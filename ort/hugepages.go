package ort

import (
	"os"
	"runtime"
	"strings"
	"syscall"
)

// hugePagesTunable asks glibc's malloc to back its large allocations with transparent huge
// pages (madvise), where the kernel allows them.
const hugePagesTunable = "glibc.malloc.hugetlb=1"

// UseHugePages re-executes the running program with GLIBC_TUNABLES set so that glibc's
// malloc, which ONNX Runtime's CPU allocations go through, backs large buffers with 2 MB
// transparent huge pages. Buffers of tens of megabytes (the head's [chunk, V] logits, GEMM
// packing) are otherwise mapped and faulted in 4 KB at a time on each run: on virtual
// machines where a fault costs microseconds that doubled the time of a training step. It does
// nothing when the tunable is already set (so it runs once), when LTECLI_HUGEPAGES=0, off
// Linux, or when the re-execution fails. Call it first thing in main, before other goroutines
// start work.
func UseHugePages() {
	if runtime.GOOS != "linux" || os.Getenv("LTECLI_HUGEPAGES") == "0" {
		return
	}
	tunables := os.Getenv("GLIBC_TUNABLES")
	if strings.Contains(tunables, "glibc.malloc.hugetlb") {
		return
	}
	if tunables != "" {
		tunables += ":"
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "GLIBC_TUNABLES="+tunables+hugePagesTunable)
	_ = syscall.Exec(exe, os.Args, env) // returns only on failure: run on without
}
