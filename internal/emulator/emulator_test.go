package emulator

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
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
	writeState(t, fs, "things/t1", "pending")
	select {
	case r := <-got:
		if r.URL.Path != TriggerURLPath("demo-emutest", "onThing") || r.Header.Get("ce-document") != "things/t1" {
			t.Errorf("delivery to %s with ce-document %q", r.URL.Path, r.Header.Get("ce-document"))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no trigger delivery within 20 s")
	}
	createdOnly(t, fs, got)

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

// writeState writes the document at path with {state} through the REST
// API as the admin.
func writeState(t *testing.T, fs *Firestore, path, state string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", "http://"+fs.Host+"/v1/projects/demo-emutest/databases/(default)/documents/"+path,
		strings.NewReader(`{"fields":{"state":{"stringValue":"`+state+`"}}}`))
	req.Header.Set("Authorization", "Bearer owner")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// createdOnly checks that a trigger registered for creations only
// (docevent.TypeCreated: the webhook record triggers) is delivered a
// document's creation and not its updates, while a trigger on writes gets
// both: got receives every delivery.
func createdOnly(t *testing.T, fs *Firestore, got chan *http.Request) {
	t.Helper()
	ctx := context.Background()
	if err := fs.RegisterTrigger(ctx, "onNewRecord", "google.cloud.firestore.document.v1.created", "records/printer/events/{id}"); err != nil {
		t.Fatal(err)
	}
	if err := fs.RegisterTrigger(ctx, "onRecord", "google.cloud.firestore.document.v1.written", "records/printer/events/{id}"); err != nil {
		t.Fatal(err)
	}
	write := func(state string) { writeState(t, fs, "records/printer/events/r1", state) }
	// The emulator delivers one event at a time in commit order: the
	// creation (to both), the update (to onRecord only), then a second
	// update that shows the first has been delivered in full.
	write("recorded")
	write("processed")
	write("processed again")
	deliveries := map[string][]string{}
	for n := 0; n < 4; n++ {
		select {
		case r := <-got:
			name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			deliveries[name] = append(deliveries[name], r.Header.Get("ce-type"))
		case <-time.After(20 * time.Second):
			t.Fatalf("only %v delivered within 20 s", deliveries)
		}
	}
	select {
	case r := <-got:
		deliveries[r.URL.Path] = append(deliveries[r.URL.Path], r.Header.Get("ce-type"))
	case <-time.After(2 * time.Second):
	}
	if want := []string{"google.cloud.firestore.document.v1.created"}; !slices.Equal(deliveries["onNewRecord"], want) {
		t.Errorf("the created-only trigger got %v, want %v", deliveries["onNewRecord"], want)
	}
	if n := len(deliveries["onRecord"]); n != 3 || len(deliveries) != 2 {
		t.Errorf("deliveries %v: want 3 to onRecord and 1 to onNewRecord", deliveries)
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
