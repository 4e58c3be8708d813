package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readyplanner/oms/functions"
)

// cli writes a stand-in gcloud and firebase into a directory put first on
// PATH: each logs its arguments, prints the database's location when
// asked, says a scheduler job exists when exists is set, and fails on
// arguments containing failOn. It returns the log's path.
func cli(t *testing.T, exists bool, failOn string) (log string) {
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	describe := "exit 1"
	if exists {
		describe = "exit 0"
	}
	script := `#!/bin/sh
echo "$(basename "$0") $*" >> ` + log + `
case "$*" in
  *"databases describe"*) echo nam5 ;;
  *"scheduler jobs describe"*) ` + describe + ` ;;
esac
if [ -n "` + failOn + `" ]; then case "$*" in *"` + failOn + `"*) echo "refused" >&2; exit 1 ;; esac; fi
exit 0
`
	for _, name := range []string{"gcloud", "firebase"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// examplePath is the example settings (found before any test changes
// directory).
var examplePath, _ = filepath.Abs(filepath.Join("..", "..", "env.example.yaml"))

// runDeploy runs make deploy's command for shop-prod from a directory with
// the example settings, and returns its exit code, stderr and the calls.
func runDeploy(t *testing.T, log string, extra ...string) (int, string, []string) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	text := strings.Replace(string(example), "OMS_PROJECT_ID: my-shop", "OMS_PROJECT_ID: shop-prod", 1)
	if err := os.WriteFile("env.yaml", []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"-run", "-project", "shop-prod", "-firebase", "firebase"}, extra...)
	code := deploy(args, &stdout, &stderr)
	b, _ := os.ReadFile(log)
	return code, stderr.String(), strings.Split(strings.TrimSpace(string(b)), "\n")
}

// make deploy reads the database's location and deploys the triggers
// there, runs every step of the plan in order, creates the scheduler job
// the first time and updates it the next, and stops at the first failure.
func TestDeployRuns(t *testing.T) {
	log := cli(t, false, "")
	code, stderr, calls := runDeploy(t, log)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.HasPrefix(calls[0], "gcloud firestore databases describe --database=(default) --project=shop-prod") {
		t.Errorf("first call %q", calls[0])
	}
	if !strings.Contains(stderr, "triggers in nam5 (read from the database") {
		t.Errorf("the location's source is not said:\n%s", stderr)
	}
	o := functions.DeployOptions{Project: "shop-prod", TriggerLocation: "nam5", SchedulerAccount: "oms-scheduler@shop-prod.iam.gserviceaccount.com",
		RunAccount: "oms-functions@shop-prod.iam.gserviceaccount.com", TriggerAccount: "oms-events@shop-prod.iam.gserviceaccount.com", Firebase: "firebase"}
	var want []string
	for _, s := range functions.DeployPlan(o).Steps {
		if s.Exists != nil {
			want = append(want, strings.Join(s.Exists, " "))
		}
		want = append(want, strings.Join(s.Argv, " "))
	}
	if got := calls[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant the plan's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Again, the job existing: it is updated.
	log = cli(t, true, "")
	if code, stderr, calls = runDeploy(t, log, "-trigger-location", "eur3"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	last := calls[len(calls)-1]
	if !strings.HasPrefix(last, "gcloud scheduler jobs update http sweep ") || strings.Contains(strings.Join(calls, "\n"), "databases describe") ||
		!strings.Contains(strings.Join(calls, "\n"), "--trigger-location=eur3") {
		t.Errorf("with the job existing and the location given: last call %q", last)
	}

	// A failing step stops the deploy.
	log = cli(t, false, "deploy onOrderWritten ")
	code, stderr, calls = runDeploy(t, log)
	if code != 1 || !strings.Contains(stderr, "(onOrderWritten (trigger, private: Eventarc)) failed") || !strings.Contains(stderr, "nothing after it ran") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if last := calls[len(calls)-1]; !strings.Contains(last, "functions deploy onOrderWritten ") {
		t.Errorf("went on after the failure, to %q", last)
	}
}

// Settings for another project, and deploying without a project, are
// refused before anything runs.
func TestDeployRefusesBeforeRunning(t *testing.T) {
	log := cli(t, false, "")
	var stderr bytes.Buffer
	if code := deploy([]string{"-run"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "-project is required") {
		t.Errorf("no project: %d %s", code, stderr.String())
	}
	code, out, _ := runDeploy(t, log, "-region", "europe-west1")
	if code != 1 || !strings.Contains(out, `OMS_REGION is "us-central1"; the functions are deployed to europe-west1`) {
		t.Errorf("another region: %d %s", code, out)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("a command ran")
	}
	var stdout bytes.Buffer
	if code := deploy(nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "my-shop") {
		t.Errorf("the example plan: %d %s", code, stderr.String())
	}
}
