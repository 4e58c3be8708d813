// Package emulator finds, starts and stops the real Firebase emulators on
// free loopback ports: the Cloud Firestore emulator (run with java directly,
// with --rules and --functions_emulator, so that Firestore triggers reach Go
// functions) and the Auth emulator (from firebase-tools, pinned in
// package.json). It stops exactly the processes it started.
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errExitedEarly: the process ended before it answered. Free ports are
// chosen and then handed to the process, so another process may take one
// in between on a busy machine: a start that fails so is tried again on
// other ports (startAttempts).
var errExitedEarly = errors.New("exited before it was ready")

// startAttempts bounds the starts of an emulator that exits early.
const startAttempts = 3

func freePorts(n int) ([]int, error) {
	// Hold every listener until all are chosen so that the ports differ.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// FindUp looks for rel in the working directory and then in each parent,
// and returns the first path that exists. The repository's tools live at
// its root (node_modules/.bin, bin/), and tests run in package folders.
func FindUp(rel string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// process is a child started in its own process group, so that stopping it
// also stops anything it started and nothing else.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
	tail *tailBuffer

	stopOnce sync.Once
}

func start(name string, cmd *exec.Cmd, logs io.Writer) (*process, error) {
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), tail: &tailBuffer{max: 8 << 10}}
	var out io.Writer = p.tail
	if logs != nil {
		out = io.MultiWriter(p.tail, logs)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls url until it answers (any HTTP status), the process exits,
// or the timeout passes.
func (p *process) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: %s (%v); its output ends:\n%s", errExitedEarly, p.name, p.err, p.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s; its output ends:\n%s", p.name, timeout, p.tail.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) error {
	var err error
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		select {
		case <-p.done:
			return
		default:
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		// Children that outlived the leader belong to the same group.
		if e := syscall.Kill(-pgid, syscall.SIGKILL); e != nil && !errors.Is(e, syscall.ESRCH) {
			err = fmt.Errorf("stop %s: %w", p.name, e)
		}
	})
	return err
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
