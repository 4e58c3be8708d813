// Package fakehold lets the local fakes of outside services hold back an
// answer after the service has acted: the request is applied (the capture
// made, the invoice created), then its answer waits until the test
// releases it. A test uses it to act while another step's outside call is
// in flight — the owner's cancel during a capture, say — which is the one
// moment an order's record and the outside truth disagree.
package fakehold

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
)

// Hold is one held answer. Reached is closed once a matching request was
// applied and its answer is waiting; Release lets the answer go (and
// every later call is a no-op).
type Hold struct {
	method, path string
	contains     string // "" or a string the request's body must contain
	reached      chan struct{}
	release      chan struct{}
	reachOnce    sync.Once
	releaseOnce  sync.Once
}

// Reached is closed when the held request has been applied.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Release sends the held answer (or lets the next matching request
// through unheld, if none came yet).
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// Set is a fake's holds waiting for their request.
type Set struct {
	mu    sync.Mutex
	holds []*Hold
}

// Next holds the answer of the next request whose method is method, whose
// path ends with path (e.g. "POST", "/capture") and whose body contains
// contains (any body when ""): a fake shared by tests running in parallel
// holds only the request of the test's own order.
func (s *Set) Next(method, path, contains string) *Hold {
	h := &Hold{method: method, path: path, contains: contains, reached: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	return h
}

// Take returns (and removes) the first hold that matches the request,
// or nil.
func (s *Set) Take(method, path string, body []byte) *Hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.holds {
		if h.method == method && strings.HasSuffix(path, h.path) && bytes.Contains(body, []byte(h.contains)) {
			s.holds = append(s.holds[:i], s.holds[i+1:]...)
			return h
		}
	}
	return nil
}

// Writer buffers an answer so that it can be held after the handler has
// run (and released its locks).
type Writer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewWriter returns a buffering writer.
func NewWriter() *Writer { return &Writer{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *Writer) Header() http.Header { return w.header }

// Write implements http.ResponseWriter.
func (w *Writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// WriteHeader implements http.ResponseWriter.
func (w *Writer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Wait marks h reached, waits for its release, then sends the buffered
// answer to out. A client that gave up meanwhile gets nothing, as with a
// real service whose answer was lost.
func (h *Hold) Wait(w *Writer, out http.ResponseWriter) {
	h.reachOnce.Do(func() { close(h.reached) })
	<-h.release
	for k, v := range w.header {
		out.Header()[k] = v
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	out.WriteHeader(w.status)
	_, _ = out.Write(w.body.Bytes())
}
