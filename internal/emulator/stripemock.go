package emulator

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// StripeMockEnv names the variable that points at the stripe-mock binary.
const StripeMockEnv = "OMS_STRIPE_MOCK"

// FindStripeMock returns stripe-mock: $OMS_STRIPE_MOCK, then bin/stripe-mock
// in the working directory or a parent (make setup installs it there), then
// stripe-mock on PATH.
func FindStripeMock() (string, error) {
	return findTool(StripeMockEnv, "stripe-mock", "github.com/stripe/stripe-mock")
}

// findTool returns a Go tool that make setup installs into bin/: $env,
// then bin/<name> in the working directory or a parent, then <name> on
// PATH.
func findTool(env, name, module string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	if p, ok := FindUp(filepath.Join("bin", name)); ok {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s was not found: run make setup (it installs %s into bin/), or set %s", name, module, env)
}

// StripeMock is a running stripe-mock: Stripe's own mock server, which
// validates requests against Stripe's OpenAPI spec (stateless; see
// reference/stripe.md).
type StripeMock struct {
	URL  string // http://127.0.0.1:PORT, the API base for the Stripe client
	proc *process
}

// StartStripeMock starts stripe-mock on free loopback ports (HTTP and HTTPS,
// so that it opens nothing on other interfaces).
func StartStripeMock(ctx context.Context) (*StripeMock, error) {
	bin, err := FindStripeMock()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	p, err := start("stripe-mock", exec.Command(bin, "-http-addr", hostPort(ports[0]), "-https-addr", hostPort(ports[1])), nil)
	if err != nil {
		return nil, err
	}
	m := &StripeMock{URL: "http://" + hostPort(ports[0]), proc: p}
	if err := p.waitReady(ctx, m.URL+"/", 30*time.Second); err != nil {
		_ = p.stop(time.Second)
		return nil, err
	}
	return m, nil
}

// Stop stops stripe-mock. Safe to call twice.
func (m *StripeMock) Stop() error { return m.proc.stop(2 * time.Second) }
