// Command deploy prints, or runs, the deploy plan derived from
// functions.List: the APIs, a check that every secret exists, the
// Firestore rules and indexes, one `gcloud functions deploy --gen2` per
// function and the scheduler jobs (docs/deploy.md).
//
//	go run ./cmd/deploy -project my-shop                # print the plan (a shell script)
//	go run ./cmd/deploy -project my-shop -run           # run it (make deploy)
//
// Printed without -trigger-location, the plan reads the Firestore
// database's location when it runs; -run reads it first and says so. Run,
// it stops at the first failing command; every step may run again (a
// function or job that exists is updated).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/readyplanner/oms/functions"
)

func main() { os.Exit(deploy(os.Args[1:], os.Stdout, os.Stderr)) }

// deploy runs the command with args, writing the plan or the commands'
// output to stdout and what it does to stderr, and returns the exit code.
func deploy(args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "deploy: "+format+"\n", args...)
		return code
	}
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o functions.DeployOptions
	var skip string
	run := fs.Bool("run", false, "run the plan (stopping at the first failure) instead of printing it")
	fs.StringVar(&o.Project, "project", "", "the Firebase/GCP project id (required with -run; printed without: an example project)")
	fs.StringVar(&o.Region, "region", "us-central1", "the functions' region")
	fs.StringVar(&o.Runtime, "runtime", "go126", "the Cloud Functions Go runtime")
	fs.StringVar(&o.TriggerLocation, "trigger-location", "", "the Firestore database's location, e.g. nam5 (default: read from the database)")
	fs.StringVar(&o.EnvFile, "env-file", "env.yaml", "YAML file of non-secret environment variables")
	fs.StringVar(&o.SchedulerAccount, "scheduler-account", "", "service account Cloud Scheduler calls the sweeper as (default oms-scheduler@PROJECT.iam.gserviceaccount.com)")
	fs.StringVar(&o.RunAccount, "run-account", "", "service account the functions run as (default oms-functions@PROJECT.iam.gserviceaccount.com)")
	fs.StringVar(&o.TriggerAccount, "trigger-account", "", "service account Eventarc calls the triggers as (default oms-events@PROJECT.iam.gserviceaccount.com)")
	fs.StringVar(&o.BuildAccount, "build-account", "", "service account Cloud Build builds as (default: the project's default)")
	fs.StringVar(&skip, "skip-secrets", "", "comma-separated secrets the store does not use (e.g. SMTP_URL,OMS_ALERT_WEBHOOK_URL)")
	fs.StringVar(&o.Firebase, "firebase", "node_modules/.bin/firebase", "the firebase-tools command")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected arguments %q", fs.Args())
	}
	example := o.Project == ""
	if example {
		if *run {
			return fail(2, "-project is required to deploy (make deploy PROJECT=my-shop)")
		}
		o.Project = "my-shop"
	}
	account := func(a *string, name string) {
		if *a == "" {
			*a = name + "@" + o.Project + ".iam.gserviceaccount.com"
		}
	}
	account(&o.SchedulerAccount, "oms-scheduler")
	account(&o.RunAccount, "oms-functions")
	account(&o.TriggerAccount, "oms-events")
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.SkipSecrets = append(o.SkipSecrets, s)
		}
	}
	if err := o.Validate(); err != nil {
		return fail(2, "%v", err)
	}
	if !*run {
		script := functions.DeployPlan(o).Script()
		if example {
			shebang, rest, _ := strings.Cut(script, "\n")
			script = shebang + "\n# No PROJECT given: the plan of an example project, my-shop (make deploy-plan PROJECT=…).\n" + rest
		}
		fmt.Fprint(stdout, script)
		return 0
	}
	settings, err := os.ReadFile(o.EnvFile)
	if err != nil {
		return fail(1, "%v: the functions' settings (cp env.example.yaml %s; docs/deploy.md, step 4)", err, o.EnvFile)
	}
	if err := o.CheckEnvFile(string(settings)); err != nil {
		return fail(1, "%v", err)
	}
	if o.TriggerLocation == "" {
		lookup := functions.DatabaseLocation(o.Project)
		fmt.Fprintf(stderr, "==> the Firestore database's location\n%s\n", functions.ShellQuote(lookup))
		var out bytes.Buffer
		c := exec.Command(lookup[0], lookup[1:]...)
		c.Stdout, c.Stderr = &out, stderr
		if err := c.Run(); err != nil {
			return fail(1, "reading the database's location: %v (create the Firestore database first, or give -trigger-location)", err)
		}
		o.TriggerLocation = strings.TrimSpace(out.String())
		if o.TriggerLocation == "" {
			return fail(1, "project %s has no Firestore database %s: create it first (docs/deploy.md)", o.Project, functions.Database)
		}
		o.TriggerLocationFrom = "read from the database: " + functions.ShellQuote(lookup)
		if err := o.Validate(); err != nil {
			return fail(1, "%v", err)
		}
	}
	plan := functions.DeployPlan(o)
	fmt.Fprintf(stderr, "deploy: project %s, functions in %s, triggers in %s (%s)\n", o.Project, o.Region, o.TriggerLocation, o.TriggerLocationFrom)
	for i, s := range plan.Steps {
		fmt.Fprintf(stderr, "\n==> %d/%d %s\n", i+1, len(plan.Steps), s.What)
		argv := s.Argv
		if s.Exists != nil && exec.Command(s.Exists[0], s.Exists[1:]...).Run() == nil {
			argv = s.Update
		}
		fmt.Fprintln(stderr, functions.ShellQuote(argv))
		c := exec.Command(argv[0], argv[1:]...)
		c.Stdout, c.Stderr = stdout, stderr
		if err := c.Run(); err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				return fail(1, "step %d (%s): %v", i+1, s.What, err)
			}
			return fail(1, "step %d (%s) failed (%v); nothing after it ran. Fix it and run make deploy again: every step may run again", i+1, s.What, err)
		}
	}
	fmt.Fprintf(stderr, "\ndeploy: done, %d steps\n", len(plan.Steps))
	return 0
}
