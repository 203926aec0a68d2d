package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts handles Ctrl-C (and SIGTERM) during a command that writes a run directory.
// The first one cancels the context: the command finishes its current step, checkpoints and
// stops. The second one stops the process at the next safe point, that is, at once unless
// a write is under way (a metrics line, a samples frame, a checkpoint), then right after it:
// the directory then reads back as the last checkpoint left it plus whole lines and frames,
// which --resume cuts off.
type interrupts struct {
	ctx    context.Context
	cancel context.CancelFunc
	writes sync.Mutex // held during each write; the forced exit takes it first
	sigs   chan os.Signal
	done   chan struct{}
	exit   func(code int)
	note   func(format string, args ...any)
	// where describes the state for the message of a forced exit.
	where func() string
}

// watchInterrupts starts the handler; stop ends it.
func watchInterrupts(parent context.Context) *interrupts {
	in := newInterrupts(parent, make(chan os.Signal, 2), os.Exit, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format, args...)
	})
	signal.Notify(in.sigs, os.Interrupt, syscall.SIGTERM)
	return in
}

func newInterrupts(parent context.Context, sigs chan os.Signal, exit func(int), note func(string, ...any)) *interrupts {
	ctx, cancel := context.WithCancel(parent)
	in := &interrupts{ctx: ctx, cancel: cancel, sigs: sigs, done: make(chan struct{}), exit: exit, note: note, where: func() string { return "" }}
	go in.loop()
	return in
}

func (in *interrupts) loop() {
	count := 0
	for {
		select {
		case <-in.done:
			return
		case <-in.sigs:
			count++
			if count == 1 {
				in.note("\ninterrupt: finishing the current step, then a checkpoint (interrupt again to stop sooner, without it)\n")
				in.cancel()
				continue
			}
			in.writes.Lock() // wait for a write under way; none starts after this
			in.note("ltecli: second interrupt: stopped without finishing the step%s\n", in.where())
			in.exit(130)
			return
		}
	}
}

// write runs one write of the run directory; a forced exit waits for it.
func (in *interrupts) write(fn func() error) error {
	in.writes.Lock()
	defer in.writes.Unlock()
	return fn()
}

// stop ends the handling of signals.
func (in *interrupts) stop() {
	signal.Stop(in.sigs)
	close(in.done)
	in.cancel()
}
