// Package testenv gives integration tests the real emulators, started once
// per test binary and stopped when it ends, and unique ids so that tests run
// in parallel against one emulator without seeing each other.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// The Firestore emulator is always this binary's own (its trigger deliveries
// come back to this binary's trigger host). The Auth emulator is shared when
// FIREBASE_AUTH_EMULATOR_HOST is already set (make test starts one for the
// whole run) and started here otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/emulator"
)

// Project is the demo project every test uses. "demo-" projects never reach
// real Google services.
const Project = "demo-oms"

var (
	mu       sync.Mutex
	stoppers []func() error

	fsOnce sync.Once
	fsEnv  *Env
	fsErr  error

	authOnce sync.Once
	authHost string
	authErr  error
)

// Run runs the tests and then stops every emulator this binary started.
func Run(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	for i := len(stoppers) - 1; i >= 0; i-- {
		if err := stoppers[i](); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}
	return code
}

func atExit(f func() error) {
	mu.Lock()
	defer mu.Unlock()
	stoppers = append(stoppers, f)
}

// TB is what testenv needs of a test (testing.TB, or a property-test
// library's T).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Env is this binary's Firestore emulator with its trigger host.
type Env struct {
	Firestore *emulator.Firestore
	Client    *firestore.Client // an admin client (bypasses rules)
	Triggers  *TriggerHost
}

// Firestore starts the emulator the first time it is called (with the
// repository's firestore.rules and a trigger host), sets
// FIRESTORE_EMULATOR_HOST, and returns it.
func Firestore(tb TB) *Env {
	tb.Helper()
	fsOnce.Do(func() { fsEnv, fsErr = startFirestore() })
	if fsErr != nil {
		tb.Fatalf("Firestore emulator: %v", fsErr)
	}
	return fsEnv
}

func startFirestore() (*Env, error) {
	th, err := newTriggerHost()
	if err != nil {
		return nil, err
	}
	atExit(th.close)
	rules, err := RepoFile("firestore.rules")
	if err != nil {
		return nil, err
	}
	var logs io.Writer
	if os.Getenv("OMS_TEST_EMULATOR_LOGS") != "" {
		logs = os.Stderr
	}
	fs, err := emulator.StartFirestore(context.Background(), emulator.FirestoreOptions{
		Project: Project, Rules: rules, FunctionsHost: th.Addr, Logs: logs})
	if err != nil {
		return nil, err
	}
	atExit(fs.Stop)
	if err := os.Setenv("FIRESTORE_EMULATOR_HOST", fs.Host); err != nil {
		return nil, err
	}
	client, err := firestore.NewClient(context.Background(), Project)
	if err != nil {
		return nil, err
	}
	atExit(client.Close)
	return &Env{Firestore: fs, Client: client, Triggers: th}, nil
}

// AuthHost returns the Auth emulator's host, starting one if the run has
// none, and sets FIREBASE_AUTH_EMULATOR_HOST.
func AuthHost(tb TB) string {
	tb.Helper()
	authOnce.Do(func() {
		if h := os.Getenv("FIREBASE_AUTH_EMULATOR_HOST"); h != "" {
			authHost = h
			return
		}
		a, err := emulator.StartAuth(context.Background(), emulator.AuthOptions{Project: Project})
		if err != nil {
			authErr = err
			return
		}
		atExit(a.Stop)
		authHost = a.Host
		authErr = os.Setenv("FIREBASE_AUTH_EMULATOR_HOST", a.Host)
	})
	if authErr != nil {
		tb.Fatalf("Auth emulator: %v", authErr)
	}
	return authHost
}

// ID returns a unique id with a readable prefix, so that tests sharing an
// emulator never touch each other's documents.
func ID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// RepoFile returns the absolute path of a file at the repository root
// (found by walking up to go.mod).
func RepoFile(name string) (string, error) {
	gomod, ok := emulator.FindUp("go.mod")
	if !ok {
		return "", fmt.Errorf("no go.mod above the working directory")
	}
	return filepath.Join(filepath.Dir(gomod), name), nil
}

// TriggerHost receives the emulator's trigger deliveries and routes them by
// trigger name to handlers that tests register.
type TriggerHost struct {
	Addr string
	srv  *http.Server
	mu   sync.RWMutex
	h    map[string]http.Handler
}

func newTriggerHost() (*TriggerHost, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	th := &TriggerHost{Addr: l.Addr().String(), h: map[string]http.Handler{}}
	th.srv = &http.Server{Handler: http.HandlerFunc(th.serve)}
	go th.srv.Serve(l)
	return th, nil
}

// Handle routes deliveries for trigger name to h. Register the trigger with
// the emulator too (Env.Firestore.RegisterTrigger).
func (th *TriggerHost) Handle(name string, h http.Handler) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.h[name] = h
}

func (th *TriggerHost) serve(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	th.mu.RLock()
	h, ok := th.h[name]
	th.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

func (th *TriggerHost) close() error { return th.srv.Close() }
