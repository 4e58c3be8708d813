package emulator

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFirestoreStartsTriggersAndStops(t *testing.T) {
	ctx := context.Background()
	// A functions host that records what the emulator delivers.
	got := make(chan *http.Request, 4)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		got <- r
	})}
	go srv.Serve(l)
	defer srv.Close()

	start := time.Now()
	fs, err := StartFirestore(ctx, FirestoreOptions{Project: "demo-emutest", FunctionsHost: l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Firestore emulator ready in %s at %s", time.Since(start).Round(time.Millisecond), fs.Host)
	pid := fs.proc.cmd.Process.Pid

	if err := fs.RegisterTrigger(ctx, "onThing", "google.cloud.firestore.document.v1.written", "things/{id}"); err != nil {
		t.Fatal(err)
	}
	// Write a document through the REST API as the admin.
	req, _ := http.NewRequest("PATCH", "http://"+fs.Host+"/v1/projects/demo-emutest/databases/(default)/documents/things/t1",
		strings.NewReader(`{"fields":{"state":{"stringValue":"pending"}}}`))
	req.Header.Set("Authorization", "Bearer owner")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case r := <-got:
		if r.URL.Path != TriggerURLPath("demo-emutest", "onThing") || r.Header.Get("ce-document") != "things/t1" {
			t.Errorf("delivery to %s with ce-document %q", r.URL.Path, r.Header.Get("ce-document"))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no trigger delivery within 20 s")
	}

	if err := fs.SetRules(ctx, "rules_version = '2'; service cloud.firestore { match /{d=**} { allow read: if false; } }"); err != nil {
		t.Errorf("valid rules refused: %v", err)
	}
	if err := fs.SetRules(ctx, "this is not rules"); err == nil {
		t.Error("broken rules accepted")
	}

	if err := fs.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("java (pid %d) still runs after Stop", pid)
	}
	if err := fs.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestAuthEmulator(t *testing.T) {
	if _, err := FindFirebaseTools(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	start := time.Now()
	a, err := StartAuth(ctx, AuthOptions{Project: "demo-emutest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Auth emulator ready in %s at %s", time.Since(start).Round(time.Millisecond), a.Host)
	defer a.Stop()
	u, err := a.SignInAnonymously(ctx)
	if err != nil || u.UID == "" || strings.Count(u.IDToken, ".") != 2 {
		t.Fatalf("anonymous sign-in: %+v %v", u, err)
	}
	v, err := SignInAs(ctx, a.Host, "owner-1", map[string]any{"admin": true})
	if err != nil || v.IDToken == "" {
		t.Fatalf("custom sign-in: %+v %v", v, err)
	}
	pid := a.proc.cmd.Process.Pid
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("firebase-tools (pid %d) still runs after Stop", pid)
	}
}

func TestFindFirestoreJarHonoursEnv(t *testing.T) {
	t.Setenv(JarEnv, "/nonexistent/emulator.jar")
	if _, err := FindFirestoreJar(); err == nil || !strings.Contains(err.Error(), JarEnv) {
		t.Errorf("err = %v", err)
	}
}
