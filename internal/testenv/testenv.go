// Package testenv gives integration tests the real emulators, started once
// per test binary and stopped when it ends, and unique ids so that tests run
// in parallel against one emulator without seeing each other.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// The Firestore emulator is always this binary's own. The Auth emulator is
// shared when
// FIREBASE_AUTH_EMULATOR_HOST is already set (make test starts one for the
// whole run) and started here otherwise.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// Env is this binary's Firestore emulator.
type Env struct {
	Firestore *emulator.Firestore
	Client    *firestore.Client // an admin client (bypasses rules)
}

// Firestore starts the emulator the first time it is called (with the
// repository's firestore.rules), sets FIRESTORE_EMULATOR_HOST, and
// returns it. Tests run the order flow themselves (they call its steps),
// so no trigger deliveries are configured.
func Firestore(tb TB) *Env {
	tb.Helper()
	fsOnce.Do(func() { fsEnv, fsErr = startFirestore() })
	if fsErr != nil {
		tb.Fatalf("Firestore emulator: %v", fsErr)
	}
	return fsEnv
}

func startFirestore() (*Env, error) {
	rules, err := RepoFile("firestore.rules")
	if err != nil {
		return nil, err
	}
	var logs io.Writer
	if os.Getenv("OMS_TEST_EMULATOR_LOGS") != "" {
		logs = os.Stderr
	}
	fs, err := emulator.StartFirestore(context.Background(), emulator.FirestoreOptions{
		Project: Project, Rules: rules, Logs: logs})
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
	return &Env{Firestore: fs, Client: client}, nil
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

// Poll checks cond every 50 ms until it holds, and fails the test naming
// what it waited for if it does not within `within`.
func Poll(tb TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
