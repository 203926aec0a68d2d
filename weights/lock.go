package weights

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockName is the file of a folder's DirLock.
const LockName = ".lock"

// DirLock is an exclusive advisory lock (flock) on a folder that one process writes, such as
// a run directory: a second process asking for it is refused at once, with the holder's pid.
// The kernel drops the lock when the holder exits, however it exits, so a crashed or killed
// process never leaves a folder locked.
type DirLock struct {
	f *os.File
}

// LockDir creates dir if needed and takes its lock. what names the folder in the error
// ("run directory").
func LockDir(dir, what string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s %s: %w", what, dir, err)
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s %s: %w", what, dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if pid := lockHolder(path); pid > 0 {
				holder = fmt.Sprintf("another ltecli (pid %d)", pid)
			}
			return nil, fmt.Errorf("%s %s is in use by %s: wait for it to finish or stop it, or choose another folder (two processes writing one folder corrupt it)", what, dir, holder)
		}
		return nil, fmt.Errorf("locking %s %s: %w", what, dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DirLock{f: f}, nil
}

// lockHolder reads the pid its holder wrote into a lock file, or 0.
func lockHolder(path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0
	}
	return pid
}

// Unlock releases the lock. The lock file stays: removing it would let a third process lock
// a new file while a second still waits on the old one.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
