package cli

import (
	"fmt"
	"runtime"
	"strings"
)

// guard runs fn and turns a panic into an error naming where it happened, so that no input
// ends the program with a stack trace. A panic is a bug: the error says to report it.
func guard(fn func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err = fmt.Errorf("internal error%s: %v (a bug: please report it with the command line; files already written are intact up to the last checkpoint)", panicSite(), r)
	}()
	return fn()
}

// panicSite names the function that panicked: the first frame below the panic outside the
// runtime.
func panicSite() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") && f.Function != "" {
			return fmt.Sprintf(" in %s (%s:%d)", f.Function, shortFile(f.File), f.Line)
		}
		if !more {
			return ""
		}
	}
}

func shortFile(path string) string {
	if i := strings.LastIndex(path, "/"); i >= 0 {
		if j := strings.LastIndex(path[:i], "/"); j >= 0 {
			return path[j+1:]
		}
	}
	return path
}
