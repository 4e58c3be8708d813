// Package coldstart measures a function instance's cold start: from the
// moment its process is started to its first answered callable, and the
// process's memory at that moment (VmRSS and VmHWM from /proc). The
// benchmark next to it runs the deployed Go binary (the buildpack's
// generated main) and a Node.js callable doing the same work (node/) in
// the same run, several rounds each.
package coldstart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sample is one cold start.
type Sample struct {
	FirstAnswer time.Duration // process start → the first callable's answer read
	Memory                    // the process's memory then
	Answer      []byte        // the answer's body
}

// Call is the callable a cold start ends with: an onCall POST of Body to
// URL with the caller's Firebase ID token.
type Call struct {
	URL     string
	Body    []byte
	IDToken string
}

// Measure starts cmd and posts c until the process answers (every
// millisecond while nothing listens: the first answer is the figure), reads
// its memory, and stops it. An answer other than 200 is an error: a cold
// start that answers a failure has not started.
func Measure(ctx context.Context, cmd *exec.Cmd, c Call) (Sample, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Sample{}, fmt.Errorf("coldstart: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Body))
		if err != nil {
			return Sample{}, fmt.Errorf("coldstart: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.IDToken)
		resp, err := client.Do(req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			select {
			case <-exited:
				return Sample{}, fmt.Errorf("coldstart: %s exited before answering:\n%s", cmd.Path, out.String())
			case <-ctx.Done():
				return Sample{}, fmt.Errorf("coldstart: %w (output so far:\n%s)", ctx.Err(), out.String())
			case <-time.After(time.Millisecond):
			}
			continue
		}
		if err != nil {
			return Sample{}, fmt.Errorf("coldstart: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return Sample{}, fmt.Errorf("coldstart: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return Sample{}, fmt.Errorf("coldstart: the first answer is %d %s\n%s", resp.StatusCode, body, out.String())
		}
		mem, err := MemoryOf(cmd.Process.Pid)
		if err != nil {
			return Sample{}, err
		}
		return Sample{FirstAnswer: took, Memory: mem, Answer: body}, nil
	}
}

// output is what the process printed, kept for the error that shows it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Memory is a process's resident memory, in bytes, as /proc/<pid>/status
// has it.
type Memory struct {
	RSS  int64 // VmRSS: resident now
	HWM  int64 // VmHWM: the peak of VmRSS so far
	Anon int64 // RssAnon: of RSS, anonymous (heap, stacks, the runtime's own)
	File int64 // RssFile: of RSS, mapped from files (the binary's code and data, libraries)
}

// MemoryOf reads a process's memory from /proc/<pid>/status.
func MemoryOf(pid int) (Memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, fmt.Errorf("coldstart: %w", err)
	}
	var m Memory
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, value, _ := strings.Cut(line, ":")
		field, ok := fields[name]
		if !ok {
			continue
		}
		f := strings.Fields(value) // "38112 kB"
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("coldstart: /proc/%d/status: unexpected %s line %q", pid, name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("coldstart: /proc/%d/status: %w", pid, err)
		}
		*field = kb * 1024
		seen++
	}
	if seen != len(fields) {
		return Memory{}, fmt.Errorf("coldstart: /proc/%d/status lacks one of VmRSS, VmHWM, RssAnon, RssFile", pid)
	}
	return m, nil
}

// Spread is the minimum, median and maximum of some figures.
type Spread struct{ Min, Median, Max float64 }

// SpreadOf returns the spread of xs (the median of an even count is the
// mean of the middle two); xs must not be empty.
func SpreadOf(xs []float64) Spread {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Min: s[0], Median: med, Max: s[n-1]}
}

func (s Spread) String() string {
	return fmt.Sprintf("min %.1f, median %.1f, max %.1f", s.Min, s.Median, s.Max)
}
