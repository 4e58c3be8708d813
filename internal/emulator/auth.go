package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FirebaseToolsEnv names the variable that points at the firebase CLI; it
// wins over node_modules/.bin/firebase found from the working directory up.
const FirebaseToolsEnv = "OMS_FIREBASE_TOOLS"

// FindFirebaseTools returns the firebase CLI: $OMS_FIREBASE_TOOLS, then
// node_modules/.bin/firebase in the working directory or a parent (what
// `npm ci` installs from package.json), then firebase on PATH.
func FindFirebaseTools() (string, error) {
	if p := os.Getenv(FirebaseToolsEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", FirebaseToolsEnv, p, err)
		}
		return p, nil
	}
	if p, ok := FindUp(filepath.Join("node_modules", ".bin", "firebase")); ok {
		return p, nil
	}
	if p, err := exec.LookPath("firebase"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("firebase-tools was not found: run `npm ci` at the repository root (make setup does), or set %s", FirebaseToolsEnv)
}

// AuthOptions configures StartAuth.
type AuthOptions struct {
	Project  string    // default demo-oms
	Port     int       // 0: a free port
	Firebase string    // the firebase CLI; default FindFirebaseTools()
	Logs     io.Writer // the emulator's own output; nil discards it
}

// Auth is a running Firebase Auth emulator.
type Auth struct {
	Host    string // "127.0.0.1:PORT", the value for FIREBASE_AUTH_EMULATOR_HOST
	Project string
	proc    *process
	dir     string
}

// StartAuth starts the Auth emulator alone, offline, on free ports (its hub
// and logging ports included, so that several can run at once), and waits
// until it answers.
func StartAuth(ctx context.Context, o AuthOptions) (a *Auth, err error) {
	for attempt := 1; ; attempt++ {
		a, err = startAuth(ctx, o)
		if err == nil || !errors.Is(err, errExitedEarly) || o.Port != 0 || attempt == startAttempts {
			return a, err
		}
	}
}

func startAuth(ctx context.Context, o AuthOptions) (*Auth, error) {
	if o.Project == "" {
		o.Project = "demo-oms"
	}
	if o.Firebase == "" {
		bin, err := FindFirebaseTools()
		if err != nil {
			return nil, err
		}
		o.Firebase = bin
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if o.Port != 0 {
		ports[0] = o.Port
	}
	dir, err := os.MkdirTemp("", "oms-auth-emulator-")
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{"emulators": map[string]any{
		"auth":              map[string]any{"host": "127.0.0.1", "port": ports[0]},
		"hub":               map[string]any{"host": "127.0.0.1", "port": ports[1]},
		"logging":           map[string]any{"host": "127.0.0.1", "port": ports[2]},
		"ui":                map[string]any{"enabled": false},
		"singleProjectMode": true,
	}}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "firebase.json"), b, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(o.Firebase, "emulators:start", "--only", "auth", "--project", o.Project)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1", "FIREBASE_CLI_EXPERIMENTS=", "CI=true")
	p, err := start("Auth emulator", cmd, o.Logs)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a := &Auth{Host: hostPort(ports[0]), Project: o.Project, proc: p, dir: dir}
	if err := p.waitReady(ctx, "http://"+a.Host+"/emulator/v1/projects/"+o.Project+"/config", 90*time.Second); err != nil {
		_ = a.Stop()
		return nil, err
	}
	return a, nil
}

// Stop stops the emulator (and only it) and removes its temporary folder.
func (a *Auth) Stop() error {
	err := a.proc.stop(5 * time.Second)
	os.RemoveAll(a.dir)
	return err
}

// User is a signed-in user of the Auth emulator.
type User struct {
	UID     string
	IDToken string
}

// SignInAnonymously creates an anonymous user, as the storefront's
// signInAnonymously does, and returns its ID token.
func (a *Auth) SignInAnonymously(ctx context.Context) (User, error) {
	return SignInAnonymously(ctx, a.Host)
}

// SignInAnonymously is Auth.SignInAnonymously for an emulator at host.
func SignInAnonymously(ctx context.Context, host string) (User, error) {
	var out struct{ LocalID, IDToken string }
	err := call(ctx, host, "/identitytoolkit.googleapis.com/v1/accounts:signUp?key=fake-api-key", map[string]any{"returnSecureToken": true}, &out)
	return User{UID: out.LocalID, IDToken: out.IDToken}, err
}

// SignInAs signs in as uid (creating the user if needed) with the given
// custom claims, through an unsigned custom token that only the emulator
// accepts, and returns the ID token.
func SignInAs(ctx context.Context, host, uid string, claims map[string]any) (User, error) {
	now := time.Now().Unix()
	payload := map[string]any{
		"aud": "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit",
		"iat": now, "exp": now + 3600, "iss": "emulator@oms.local", "sub": "emulator@oms.local", "uid": uid,
	}
	if len(claims) > 0 {
		payload["claims"] = claims
	}
	pb, _ := json.Marshal(payload)
	token := b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(string(pb)) + "."
	var out struct{ IDToken string }
	err := call(ctx, host, "/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=fake-api-key",
		map[string]any{"token": token, "returnSecureToken": true}, &out)
	return User{UID: uid, IDToken: out.IDToken}, err
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func call(ctx context.Context, host, path string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("auth emulator %s: %s: %s", strings.SplitN(path, "?", 2)[0], resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}
