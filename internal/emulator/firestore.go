package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// JarEnv names the variable that points at the Firestore emulator's jar
// directly; it wins over every other place.
const JarEnv = "OMS_FIRESTORE_EMULATOR_JAR"

const firestoreMain = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"

// FindFirestoreJar returns the Cloud Firestore emulator's jar: $OMS_FIRESTORE_EMULATOR_JAR,
// then the Cloud SDK's platform/cloud-firestore-emulator (the SDK root from
// $CLOUDSDK_ROOT_DIR, the usual install folders, or `gcloud info`), then the
// newest jar in firebase-tools' cache (~/.cache/firebase/emulators).
func FindFirestoreJar() (string, error) {
	if p := os.Getenv(JarEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", JarEnv, p, err)
		}
		return p, nil
	}
	const rel = "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
	roots := []string{os.Getenv("CLOUDSDK_ROOT_DIR"), "/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk", "/opt/google-cloud-sdk"}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "google-cloud-sdk"))
	}
	tried := []string{}
	for _, root := range roots {
		if root == "" {
			continue
		}
		p := filepath.Join(root, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if gcloud, err := exec.LookPath("gcloud"); err == nil {
		out, err := exec.Command(gcloud, "info", "--format=value(installation.sdk_root)").Output()
		if root := strings.TrimSpace(string(out)); err == nil && root != "" {
			p := filepath.Join(root, rel)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		jars, _ := filepath.Glob(filepath.Join(home, ".cache/firebase/emulators/cloud-firestore-emulator-v*.jar"))
		if len(jars) > 0 {
			sort.Strings(jars)
			return jars[len(jars)-1], nil
		}
		tried = append(tried, filepath.Join(home, ".cache/firebase/emulators/cloud-firestore-emulator-v*.jar"))
	}
	return "", fmt.Errorf("the Cloud Firestore emulator was not found; install Debian's google-cloud-cli-firestore-emulator (make setup does), or set %s; looked at:\n  %s",
		JarEnv, strings.Join(tried, "\n  "))
}

// FirestoreOptions configures StartFirestore.
type FirestoreOptions struct {
	Project string // default demo-oms
	Port    int    // 0: a free port
	// Rules is a firestore.rules file loaded at start; empty means the
	// emulator's default (everything open to clients).
	Rules string
	// FunctionsHost ("127.0.0.1:PORT") receives trigger deliveries at
	// /functions/projects/<project>/triggers/<name>. Empty: no triggers.
	FunctionsHost string
	Jar           string    // default FindFirestoreJar()
	Java          string    // default "java" on PATH
	Logs          io.Writer // the emulator's own output; nil discards it
}

// Firestore is a running Cloud Firestore emulator.
type Firestore struct {
	Host    string // "127.0.0.1:PORT", the value for FIRESTORE_EMULATOR_HOST
	Project string
	proc    *process
}

// StartFirestore starts the emulator on free ports and waits until it answers.
func StartFirestore(ctx context.Context, o FirestoreOptions) (f *Firestore, err error) {
	for attempt := 1; ; attempt++ {
		f, err = startFirestore(ctx, o)
		if err == nil || !errors.Is(err, errExitedEarly) || o.Port != 0 || attempt == startAttempts {
			return f, err
		}
	}
}

func startFirestore(ctx context.Context, o FirestoreOptions) (*Firestore, error) {
	if o.Project == "" {
		o.Project = "demo-oms"
	}
	if o.Jar == "" {
		jar, err := FindFirestoreJar()
		if err != nil {
			return nil, err
		}
		o.Jar = jar
	}
	if o.Java == "" {
		o.Java = "java"
	}
	if _, err := exec.LookPath(o.Java); err != nil {
		return nil, fmt.Errorf("the Firestore emulator needs Java 17 or newer on PATH: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	if o.Port != 0 {
		ports[0] = o.Port
	}
	args := []string{"-Duser.language=en", "-cp", o.Jar, firestoreMain, "start",
		"--host", "127.0.0.1", "--port", fmt.Sprint(ports[0]), "--websocket_port", fmt.Sprint(ports[1]),
		"--project_id", o.Project}
	if o.Rules != "" {
		abs, err := filepath.Abs(o.Rules)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		args = append(args, "--rules", abs)
	}
	if o.FunctionsHost != "" {
		args = append(args, "--functions_emulator", o.FunctionsHost)
	}
	p, err := start("Firestore emulator", exec.Command(o.Java, args...), o.Logs)
	if err != nil {
		return nil, err
	}
	f := &Firestore{Host: hostPort(ports[0]), Project: o.Project, proc: p}
	if err := p.waitReady(ctx, "http://"+f.Host+"/", 60*time.Second); err != nil {
		_ = p.stop(time.Second)
		return nil, err
	}
	return f, nil
}

// Stop stops the emulator (and only it). Safe to call twice.
func (f *Firestore) Stop() error { return f.proc.stop(5 * time.Second) }

// TriggerURLPath is where the emulator delivers events for trigger name.
func TriggerURLPath(project, name string) string {
	return "/functions/projects/" + project + "/triggers/" + name
}

// RegisterTrigger registers a gen2 (Eventarc) Firestore trigger: events of
// eventType (e.g. google.cloud.firestore.document.v1.written) for documents
// matching pattern (e.g. orders/{orderId}) are POSTed to the functions host
// at TriggerURLPath(project, name). Registering again is harmless.
func (f *Firestore) RegisterTrigger(ctx context.Context, name, eventType, pattern string) error {
	body, _ := json.Marshal(map[string]any{
		"eventType": eventType, "database": "(default)", "namespace": "(default)",
		"document": map[string]string{"value": pattern, "matchType": "PATH_PATTERN"},
	})
	u := fmt.Sprintf("http://%s/emulator/v1/projects/%s/eventarcTrigger?eventarcTriggerId=%s", f.Host, f.Project, url.QueryEscape(name))
	return f.send(ctx, http.MethodPost, u, body)
}

// SetRules replaces the security rules. A rules file that does not compile
// is refused with the compiler's message and the old rules stay.
func (f *Firestore) SetRules(ctx context.Context, rules string) error {
	body, _ := json.Marshal(map[string]any{"rules": map[string]any{"files": []map[string]string{{"name": "firestore.rules", "content": rules}}}})
	return f.send(ctx, http.MethodPut, fmt.Sprintf("http://%s/emulator/v1/projects/%s:securityRules", f.Host, f.Project), body)
}

func (f *Firestore) send(ctx context.Context, method, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer owner")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
