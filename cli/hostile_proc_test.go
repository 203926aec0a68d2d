package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ltecli/lte"
	"ltecli/weights"
)

// TestMain lets the tests start the test binary as ltecli itself (LTECLI_AS_MAIN=1), for
// cases that need a second process or limits on one: LTECLI_TEST_FSIZE caps the size of
// any file the process writes, as a full disk would stop it.
func TestMain(m *testing.M) {
	if os.Getenv("LTECLI_AS_MAIN") == "1" {
		if n, err := strconv.ParseUint(os.Getenv("LTECLI_TEST_FSIZE"), 10, 64); err == nil {
			signal.Ignore(syscall.SIGXFSZ) // writes past the limit fail with EFBIG instead
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim)
			lim.Cur = n
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
				fmt.Fprintln(os.Stderr, "setrlimit:", err)
				os.Exit(3)
			}
		}
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// ltecliProcess starts ltecli as a child process with args and extra environment.
func ltecliProcess(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "LTECLI_AS_MAIN=1"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func replaceDir(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "DIR", dir)
	}
	return out
}

// TestDiskFullDuringCheckpoint: a checkpoint write that fails for lack of room reports it,
// leaves no temporary folder, and the same command then succeeds.
func TestDiskFullDuringCheckpoint(t *testing.T) {
	f := newRunFixture(t)
	dir := t.TempDir()
	args := replaceDir(f.args(), dir)
	cmd, stderr := ltecliProcess(t, []string{"LTECLI_TEST_FSIZE=20000"}, args...)
	code := exitCode(cmd.Wait())
	msg := lastLine(stderr.String())
	if code != 1 || !strings.Contains(msg, "writing checkpoint step-000001") || !strings.Contains(msg, "file too large") {
		t.Fatalf("exit %d, message %q", code, msg)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "run", lte.CheckpointsDir))
	if len(entries) != 0 {
		t.Fatalf("a failed checkpoint left %v", entries)
	}
	if code, _, stderr := capture(t, "", args...); code != 0 {
		t.Fatalf("retry: exit %d: %s", code, stderr)
	}
	readsBack(2)(t, dir, "")
}

// TestSecondProcessAndInterrupt: while one ltecli trains, a second on the same --out is
// refused with the first one's pid; Ctrl-C then stops the first after its step with a
// checkpoint and no validation the uninterrupted run would not have written; the second
// resumes it.
func TestSecondProcessAndInterrupt(t *testing.T) {
	f := newRunFixture(t)
	dir := t.TempDir()
	args := replaceDir(f.args("--steps", "400", "--val", f.train, "--val-every", "1000", "--val-n", "2", "--val-k", "1"), dir)
	cmd, stderr := ltecliProcess(t, nil, args...)
	defer cmd.Process.Kill()
	run := filepath.Join(dir, "run")
	deadline := time.Now().Add(60 * time.Second)
	for {
		ms, _ := readMetrics(run)
		if len(ms) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run wrote %d metrics lines in 60 s: %s", len(ms), stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, _, errOut := capture(t, "", args...)
	if msg := lastLine(errOut); code != 1 || !strings.Contains(msg, fmt.Sprintf("in use by another ltecli (pid %d)", cmd.Process.Pid)) {
		t.Fatalf("second process: exit %d, %q", code, msg)
	}
	code, _, errOut = capture(t, "", append(args, "--resume")...)
	if msg := lastLine(errOut); code != 1 || !strings.Contains(msg, fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("--resume during the run: exit %d, %q", code, msg)
	}
	cmd.Process.Signal(os.Interrupt)
	code = exitCode(cmd.Wait())
	msg := lastLine(stderr.String())
	m := regexp.MustCompile(`interrupted after step (\d+); checkpoint written`).FindStringSubmatch(msg)
	if code != 1 || m == nil {
		t.Fatalf("interrupted run: exit %d, %q", code, msg)
	}
	step, _ := strconv.Atoi(m[1])
	ms, err := readMetrics(run)
	if err != nil {
		t.Fatal(err)
	}
	// Step 0's validation line, then one line per step without validation.
	if len(ms) != step+1 {
		t.Fatalf("%d metrics lines after step %d", len(ms), step)
	}
	for _, line := range ms[1:] {
		if _, ok := line.Validation[1]; ok {
			t.Fatalf("step %d has a validation the uninterrupted run would not have", line.Step)
		}
	}
	ckpt, err := lte.LatestCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := lte.VerifyCheckpoint(ckpt); err != nil || st.Step != step {
		t.Fatalf("checkpoint %s at step %d: %v", ckpt, st.Step, err)
	}
	resume := replaceDir(f.args("--steps", strconv.Itoa(step+1), "--val", f.train, "--val-every", "1000", "--val-n", "2", "--val-k", "1", "--resume"), dir)
	if code, _, errOut := capture(t, "", resume...); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if ms, _ := readMetrics(run); len(ms) != step+2 {
		t.Fatalf("%d metrics lines after resuming to step %d", len(ms), step+1)
	}
	if _, err := weights.OpenCheckpoint(filepath.Join(run, lte.CheckpointsDir, fmt.Sprintf("step-%06d", step+1))); err != nil {
		t.Fatal(err)
	}
}

// TestSecondInterruptWaitsForWrites: the first interrupt cancels; the second exits with
// status 130, but only once the write under way is done.
func TestSecondInterruptWaitsForWrites(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var notes []string
	in := newInterrupts(context.Background(), sigs, func(code int) { exited <- code }, func(format string, args ...any) {
		notes = append(notes, fmt.Sprintf(format, args...))
	})
	in.where = func() string { return " after step 7" }
	sigs <- os.Interrupt
	select {
	case <-in.ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first interrupt did not cancel")
	}
	started, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go in.write(func() error {
		close(started)
		<-release
		close(finished)
		return nil
	})
	<-started
	sigs <- os.Interrupt
	select {
	case code := <-exited:
		t.Fatalf("exited with %d during a write", code)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case code := <-exited:
		select {
		case <-finished:
		default:
			t.Fatal("exited before the write finished")
		}
		if code != 130 || !strings.Contains(notes[len(notes)-1], "second interrupt: stopped without finishing the step after step 7") {
			t.Fatalf("exit %d, notes %q", code, notes)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second interrupt did not exit")
	}
}
