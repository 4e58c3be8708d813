package devhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
)

// Services is what a detached functions host needs to attach to running
// services (Options.Detached): written by oms-dev -services, read by
// oms-dev -attach. It holds the local fakes' keys and webhook secrets, so
// it is written readable by its owner only.
type Services struct {
	URL       string            `json:"url"` // where the functions host listens
	Project   string            `json:"project"`
	Region    string            `json:"region"`
	Firestore string            `json:"firestore"` // FIRESTORE_EMULATOR_HOST
	Auth      string            `json:"auth"`      // FIREBASE_AUTH_EMULATOR_HOST
	Relay     string            `json:"relay"`     // where events and webhooks are accepted
	Vars      map[string]string `json:"vars"`      // the App's configuration (the fakes' addresses and keys)
}

// Services describes h for a detached host.
func (h *Host) Services() Services {
	s := Services{URL: h.URL, Project: h.Project, Region: h.Region, Firestore: h.Firestore.Host, Auth: h.AuthHost, Vars: h.vars}
	if h.Relay != nil {
		s.Relay = h.Relay.URL
	}
	return s
}

// WriteServices writes h.Services() to path as JSON (mode 0600).
func (h *Host) WriteServices(path string) error { return writeJSON(path, h.Services()) }

func writeJSON(path string, s Services) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// ReadServices reads a file written by WriteServices.
func ReadServices(path string) (Services, error) {
	var s Services
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.URL == "" || s.Firestore == "" || s.Auth == "" || s.Project == "" {
		return s, fmt.Errorf("%s: not a services file of oms-dev -services (url, project, firestore and auth are needed)", path)
	}
	return s, nil
}

// AttachOptions configure Attach.
type AttachOptions struct {
	Logs io.Writer // the functions' logs (nil discards them)
	// Configure, if set, is called with the App before anything is served.
	Configure func(*app.App)
}

// Attach runs only the functions host, attached to running services: it
// builds the App from s's configuration (the process environment wins for
// anything s does not set) and serves every function at s.URL. The
// services registered the triggers and seeded the store already.
func Attach(ctx context.Context, s Services, o AttachOptions) (_ *Host, err error) {
	began := time.Now()
	h := &Host{URL: s.URL, Project: s.Project, Region: s.Region, AuthHost: s.Auth}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()
	vars := map[string]string{"FIRESTORE_EMULATOR_HOST": s.Firestore, "FIREBASE_AUTH_EMULATOR_HOST": s.Auth,
		"OMS_ENV": config.Development, "OMS_PROJECT_ID": s.Project, "OMS_REGION": s.Region}
	for k, v := range s.Vars {
		if _, set := vars[k]; !set {
			vars[k] = v
		}
	}
	if err := h.newApp(ctx, vars, o.Logs, nil); err != nil {
		return nil, err
	}
	if o.Configure != nil {
		o.Configure(h.App)
	}
	l, err := listenAgain(ctx, strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		return nil, fmt.Errorf("functions host: %w", err)
	}
	h.stops = append(h.stops, l.Close)
	if err := h.serve(ctx, Options{}, l); err != nil {
		return nil, err
	}
	h.Ready = time.Since(began)
	return h, nil
}

// listenAgain listens at addr, waiting up to 10 s while a host that has
// just died still holds it.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
