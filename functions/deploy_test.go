package functions

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/firestoredb"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

var testDeploy = DeployOptions{Project: "shop-prod", Region: "europe-west1", TriggerLocation: "eur3",
	SchedulerAccount: "sched@shop-prod.iam.gserviceaccount.com", RunAccount: "fn@shop-prod.iam.gserviceaccount.com",
	TriggerAccount: "ev@shop-prod.iam.gserviceaccount.com", SkipSecrets: []string{"OMS_ALERT_WEBHOOK_URL"}}

// triggerDocuments is, for each trigger of the list, the documents its
// use case's store writes: the trigger must listen to those and no others.
var triggerDocuments = map[string]string{
	"onOrderWritten":    firestoredb.OrdersCollection + "/{orderId}",
	"onMailWritten":     firestoredb.MailCollection + "/{mailId}",
	"onAlertWritten":    firestoredb.AlertsCollection + "/{alertId}",
	"onQuickBooksEvent": firestoredb.WebhookEventPattern(webhookev.QuickBooks),
	"onPrinterEvent":    firestoredb.WebhookEventPattern(webhookev.Printer),
	"onShipEngineEvent": firestoredb.WebhookEventPattern(webhookev.ShipEngine),
}

// flagValue is the value of --name=… in c ("" and false if absent).
func flagValue(c []string, name string) (string, bool) {
	for _, a := range c {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// The plan deploys every function of the list exactly once, as its kind
// and entry ask: access, trigger, resources, timeout, secrets, schedule.
func TestDeployPlanMatchesList(t *testing.T) {
	if err := testDeploy.Validate(); err != nil {
		t.Fatal(err)
	}
	p := DeployPlan(testDeploy)
	if p.Lookup != nil {
		t.Errorf("a given trigger location is read again: %v", p.Lookup)
	}
	deployed := map[string][]string{}
	jobs := map[string]Step{}
	var secretChecks []string
	firebase := 0
	for _, s := range p.Steps {
		c := s.Argv
		line := strings.Join(c, " ")
		switch {
		case strings.HasPrefix(line, "gcloud functions deploy "):
			if _, dup := deployed[c[3]]; dup {
				t.Errorf("%s deployed twice", c[3])
			}
			deployed[c[3]] = c
		case strings.HasPrefix(line, "gcloud scheduler jobs create http "):
			jobs[c[5]] = s
		case strings.HasPrefix(line, "gcloud secrets versions describe latest "):
			v, _ := flagValue(c, "secret")
			secretChecks = append(secretChecks, v)
		case line == "node_modules/.bin/firebase deploy --only firestore:rules,firestore:indexes --project shop-prod --non-interactive":
			firebase++
		case strings.HasPrefix(line, "gcloud services enable --project=shop-prod "):
		default:
			t.Errorf("unexpected step %s", line)
		}
	}
	if firebase != 1 {
		t.Errorf("rules and indexes deployed %d times", firebase)
	}
	wantChecks := slices.DeleteFunc(AllSecrets(), func(s string) bool { return s == "OMS_ALERT_WEBHOOK_URL" })
	if !slices.Equal(secretChecks, wantChecks) {
		t.Errorf("secrets checked %v, want %v", secretChecks, wantChecks)
	}
	for name := range deployed {
		if _, ok := Lookup(name); !ok {
			t.Errorf("deployed %s is not in the list", name)
		}
	}
	documents := map[string]string{}
	for _, f := range List {
		c, ok := deployed[f.Name]
		if !ok {
			t.Errorf("%s is never deployed", f.Name)
			continue
		}
		has := func(flag string) bool { return slices.Contains(c, flag) }
		for _, flag := range []string{"--gen2", "--entry-point=" + f.Name, "--runtime=go126", "--region=europe-west1", "--source=.",
			"--project=shop-prod", "--env-vars-file=env.yaml", "--run-service-account=fn@shop-prod.iam.gserviceaccount.com"} {
			if !has(flag) {
				t.Errorf("%s: missing %s", f.Name, flag)
			}
		}
		public := has("--allow-unauthenticated")
		if private := has("--no-allow-unauthenticated"); public == private {
			t.Errorf("%s: public %v, private %v", f.Name, public, private)
		}
		if want := f.Kind == Callable || f.Kind == Webhook || f.Kind == Owner; public != want {
			t.Errorf("%s (%s): public %v, want %v", f.Name, f.Kind, public, want)
		}
		if has("--trigger-http") != f.Kind.HTTP() {
			t.Errorf("%s: --trigger-http for a %s", f.Name, f.Kind)
		}
		if f.Kind == Trigger {
			want := triggerDocuments[f.Name]
			if want == "" || f.Document != want {
				t.Errorf("%s listens to %s; its store writes %s", f.Name, f.Document, want)
			}
			if other, dup := documents[f.Document]; dup {
				t.Errorf("%s and %s listen to the same documents %s", f.Name, other, f.Document)
			}
			documents[f.Document] = f.Name
			for _, flag := range []string{"--trigger-event-filters=type=" + f.EventType, "--trigger-event-filters=database=(default)",
				"--trigger-event-filters=namespace=(default)", "--trigger-event-filters-path-pattern=document=" + f.Document,
				"--trigger-location=eur3", "--retry", "--trigger-service-account=ev@shop-prod.iam.gserviceaccount.com"} {
				if !has(flag) {
					t.Errorf("%s: missing %s", f.Name, flag)
				}
			}
		} else if slices.ContainsFunc(c, func(a string) bool { return strings.HasPrefix(a, "--trigger-event") || a == "--retry" }) {
			t.Errorf("%s is not a trigger: %v", f.Name, c)
		}
		r := f.Resources.WithDefaults()
		for name, want := range map[string]string{"memory": r.Memory, "cpu": r.CPU, "concurrency": strconv.Itoa(r.Concurrency),
			"min-instances": strconv.Itoa(r.MinInstances), "max-instances": strconv.Itoa(r.MaxInstances),
			"timeout": strconv.Itoa(int(timeout(f).Seconds())) + "s"} {
			if got, _ := flagValue(c, name); got != want {
				t.Errorf("%s: --%s=%s, want %s", f.Name, name, got, want)
			}
		}
		secrets, set := flagValue(c, "set-secrets")
		var want []string
		for _, s := range testDeploy.Secrets(f) {
			want = append(want, s+"="+s+":latest")
		}
		if got := strings.Split(secrets, ","); set != (len(want) > 0) || set && !slices.Equal(got, want) || !set && !has("--clear-secrets") {
			t.Errorf("%s: secrets %q, want %q", f.Name, secrets, want)
		}
		job, scheduled := jobs[f.Name]
		if scheduled != (f.Kind == Scheduled) {
			t.Errorf("%s (%s): scheduler job %v", f.Name, f.Kind, scheduled)
		}
		if scheduled {
			for _, c := range [][]string{job.Argv, job.Update} {
				for _, flag := range []string{"--schedule=" + f.Schedule, "--uri=https://europe-west1-shop-prod.cloudfunctions.net/" + f.Name,
					"--oidc-service-account-email=sched@shop-prod.iam.gserviceaccount.com", "--location=europe-west1", "--http-method=POST",
					"--attempt-deadline=" + strconv.Itoa(int(min(timeout(f).Seconds(), 1800))) + "s"} {
					if !slices.Contains(c, flag) {
						t.Errorf("%s's job: missing %s in %v", f.Name, flag, c)
					}
				}
			}
			if !slices.Equal(job.Exists[:5], []string{"gcloud", "scheduler", "jobs", "describe", f.Name}) || job.Update[3] != "update" {
				t.Errorf("%s's job is not updated when it exists: %+v", f.Name, job)
			}
		}
	}
	if len(jobs) == 0 {
		t.Error("no scheduler jobs")
	}
}

// Without a trigger location the plan reads the database's, and the
// printed script is one the shell parses; it names every step.
func TestDeployPlanReadsTheDatabaseLocation(t *testing.T) {
	o := testDeploy
	o.TriggerLocation = ""
	p := DeployPlan(o)
	if !slices.Equal(p.Lookup, []string{"gcloud", "firestore", "databases", "describe", "--database=(default)", "--project=shop-prod", "--format=value(locationId)"}) {
		t.Errorf("lookup %v", p.Lookup)
	}
	script := p.Script()
	for _, want := range []string{
		`TRIGGER_LOCATION=$(gcloud firestore databases describe '--database=(default)' --project=shop-prod '--format=value(locationId)')`,
		`"--trigger-location=$TRIGGER_LOCATION"`,
		"if gcloud scheduler jobs describe sweep --project=shop-prod --location=europe-west1 '--format=value(name)' >/dev/null 2>&1; then\n  gcloud scheduler jobs update http sweep",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks %s", want)
		}
	}
	for _, s := range p.Steps {
		if !strings.Contains(script, ShellQuote(s.Argv)+"\n") {
			t.Errorf("the script lacks %s", ShellQuote(s.Argv))
		}
	}
	sh := exec.Command("sh", "-n")
	sh.Stdin = strings.NewReader(script)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v: %s", err, out)
	}
	if got := ShellQuote([]string{"gcloud", "--x=a b", "it's", "--l=$TRIGGER_LOCATION", "$HOME"}); got != `gcloud '--x=a b' 'it'\''s' "--l=$TRIGGER_LOCATION" '$HOME'` {
		t.Errorf("ShellQuote = %s", got)
	}
}

// Options and resources the platform would refuse are refused before
// anything runs, each with what is wrong.
func TestDeployValidate(t *testing.T) {
	bad := testDeploy
	bad.Project, bad.Region, bad.TriggerLocation, bad.SchedulerAccount = "Shop", "europe", "eur 3", "sched"
	bad.SkipSecrets = []string{"NOPE", "STRIPE_SECRET_KEY"}
	err := bad.Validate()
	for _, want := range []string{`project "Shop"`, `region "europe"`, `trigger location "eur 3"`, `scheduler account "sched"`, `"NOPE"`, "STRIPE_SECRET_KEY cannot be skipped"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %s in %v", want, err)
		}
	}
	for r, want := range map[Resources]string{
		{Memory: "12XB"}:                     `memory "12XB"`,
		{Memory: "64Mi"}:                     "below 128Mi",
		{CPU: "0.5"}:                         "concurrency 80 needs at least 1 vCPU",
		{CPU: "0.5", Concurrency: 1}:         "",
		{CPU: "3"}:                           "2, 4, 6 or 8",
		{CPU: "one"}:                         `cpu "one"`,
		{Memory: "2Gi", CPU: "1"}:            "",
		{Memory: "8Gi", CPU: "1"}:            "needs more vCPUs",
		{Concurrency: 1001}:                  "1–1000",
		{MinInstances: 3, MaxInstances: 2}:   "min 3, max 2",
		{CPU: "500m", Concurrency: 1}:        "",
		{Memory: "1000000K", Concurrency: 1}: "",
	} {
		err := Function{Name: "f", Kind: Callable, Resources: r}.validateDeploy()
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", r, err, want)
		}
	}
	if err := (Function{Name: "t", Kind: Trigger, Timeout: 10 * 60 * 1e9}).validateDeploy(); err == nil || !strings.Contains(err.Error(), "at most 9m0s") {
		t.Errorf("a 10-minute trigger: %v", err)
	}
}

// Each planned command goes through the real Google Cloud CLI (and
// firebase-tools) with a throwaway configuration and no account: each
// must get as far as wanting credentials; a flag or value the CLI
// refuses fails the test. (What the CLI checks only against the project,
// the platform's limits, Validate checks.)
func TestDeployPlanThroughTheCLIs(t *testing.T) {
	t.Parallel() // about 50 CLI runs of a second or two each: beside the other tests
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		t.Skip("gcloud (the Google Cloud CLI) is not installed: the planned commands are not checked against it")
	}
	// A directory like the repository root: the settings (the example),
	// and what firebase deploy reads.
	dir := t.TempDir()
	for from, to := range map[string]string{"env.example.yaml": "env.yaml", "firebase.json": "firebase.json",
		"firestore.rules": "firestore.rules", "firestore.indexes.json": "firestore.indexes.json"} {
		b, err := os.ReadFile(filepath.Join("..", from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// No account, no credentials, no prompts, nothing from this machine's
	// own configuration; the APIs' addresses are a closed local port, so
	// that nothing could reach Google even if a command got that far.
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CLOUDSDK_CONFIG=" + t.TempDir(),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1", "CLOUDSDK_CORE_CHECK_GCE_METADATA=false", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true", "NO_UPDATE_NOTIFIER=1"}
	for _, api := range []string{"CLOUDFUNCTIONS", "CLOUDSCHEDULER", "SECRETMANAGER", "SERVICEUSAGE", "FIRESTORE", "RUN"} {
		env = append(env, "CLOUDSDK_API_ENDPOINT_OVERRIDES_"+api+"=http://127.0.0.1:9/")
	}
	o := testDeploy
	o.BuildAccount = "build@shop-prod.iam.gserviceaccount.com"
	o.Firebase, _ = filepath.Abs(filepath.Join("..", "node_modules", ".bin", "firebase"))
	cmds := DeployPlan(o).Commands()
	cmds = append(cmds, DatabaseLocation(o.Project))
	o.SkipSecrets = nil // a function with every secret
	cmds = append(cmds, DeployPlan(o).Commands()...)
	// And one the CLI must refuse for its argument: the check can fail.
	refused := []string{"gcloud", "functions", "deploy", "whoami", "--gen2", "--project=shop-prod", "--region=europe-west1", "--trigger-http", "--concurrency=many"}
	cmds = append(cmds, refused)
	seen := map[string]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 3)
	for _, c := range cmds {
		line := ShellQuote(c)
		if seen[line] {
			continue
		}
		seen[line] = true
		want := "You do not currently have an active account selected"
		argv := slices.Clone(c)
		switch {
		case c[0] == "gcloud":
			argv[0] = gcloud
		case strings.HasSuffix(c[0], "firebase"):
			if _, err := os.Stat(c[0]); err != nil {
				t.Logf("firebase-tools not installed (npm ci): %s not checked", line)
				continue
			}
			want = "Failed to authenticate, have you run firebase login?"
		default:
			t.Errorf("a command of neither CLI: %s", line)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			accountOnly := err != nil && code == 1 && strings.Contains(string(out), want)
			switch {
			case slices.Equal(c, refused):
				if accountOnly || !strings.Contains(string(out), "--concurrency") {
					t.Errorf("%s: not refused for its argument (exit %d):\n%s", line, code, out)
				}
			case err == nil:
				t.Errorf("%s succeeded without an account:\n%s", line, out)
			case !accountOnly:
				t.Errorf("%s: refused for something else than an account (exit %d):\n%s", line, code, out)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d distinct commands checked", len(seen))
	gcloudMemoryParser(t, gcloud)
}

// gcloudMemoryParser runs every function's memory through gcloud's own
// parser for 2nd gen (which gcloud runs only once it has reached the
// project). It is not a public interface: if gcloud's Python cannot be
// loaded this way, the check is skipped with a note.
func gcloudMemoryParser(t *testing.T, gcloud string) {
	bin, err := filepath.EvalSymlinks(gcloud)
	if err != nil {
		t.Fatal(err)
	}
	sdk := filepath.Dir(filepath.Dir(bin))
	python := filepath.Join(sdk, "platform", "bundledpythonunix", "bin", "python3")
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	args := []string{"-c", `
import sys
sdk = sys.argv[1]
sys.path[:0] = [sdk + "/lib", sdk + "/lib/third_party"]
try:
    from googlecloudsdk.command_lib.functions.v2.deploy import command
    parse = command._ParseMemoryStrToK8sMemory
except Exception as e:
    print("unavailable:", e)
    sys.exit(3)
for m in sys.argv[2:]:
    try:
        parse(m)
    except Exception as e:
        print(e)
        sys.exit(1)
`, sdk}
	for _, f := range List {
		args = append(args, f.Resources.WithDefaults().Memory)
	}
	out, err := exec.Command(python, args...).CombinedOutput()
	switch {
	case err == nil:
	case errors.As(err, new(*exec.ExitError)) && strings.HasPrefix(string(out), "unavailable:"):
		t.Logf("gcloud's memory parser not checked: %s", out)
	default:
		t.Errorf("gcloud's memory parser refuses a function's memory: %v: %s", err, out)
	}
}

// The example settings are a production configuration the functions
// accept (every secret given), and make deploy refuses settings for
// another project, region or environment.
func TestEnvExample(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "env.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := ReadEnvFile(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if env["OMS_SHIP_FROM"] == "" || !strings.HasPrefix(env["OMS_SHIP_FROM"], "{") || env["OMS_APPCHECK"] != "off" {
		t.Errorf("read %q", env)
	}
	for _, s := range AllSecrets() {
		env[s] = "x"
	}
	if _, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, AllSecrets()...); err != nil {
		t.Errorf("env.example.yaml is not a valid production configuration: %v", err)
	}
	o := DeployOptions{Project: "my-shop"}
	if err := o.CheckEnvFile(string(text)); err != nil {
		t.Error(err)
	}
	o = DeployOptions{Project: "other-shop", Region: "europe-west1"}
	err = o.CheckEnvFile(string(text) + "OMS_ENV: development\n")
	for _, want := range []string{`OMS_PROJECT_ID is "my-shop"`, `OMS_REGION is "us-central1"`, `OMS_ENV is "development"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %s in %v", want, err)
		}
	}
	if _, err := ReadEnvFile("A: 1\nnot a setting\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad line: %v", err)
	}
}
