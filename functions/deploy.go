package functions

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/app"
)

// DeployOptions are the per-project facts the deploy plan needs.
type DeployOptions struct {
	Project string // the Firebase/GCP project id
	Region  string // where the functions run, default us-central1
	Runtime string // Cloud Functions Go runtime, default go126 (go.mod says go 1.26)
	// TriggerLocation is the Firestore database's location (nam5, eur3,
	// us-central1, …), where Eventarc must listen for its events. Empty:
	// the plan reads it from the database when it runs (DatabaseLocation).
	TriggerLocation string
	// TriggerLocationFrom says how TriggerLocation was obtained, for the
	// plan's header (default "given").
	TriggerLocationFrom string
	EnvFile             string // a YAML file of plain (non-secret) environment variables, default env.yaml
	// SchedulerAccount is the service account Cloud Scheduler calls the
	// scheduled functions as (it needs roles/run.invoker on them).
	SchedulerAccount string
	// RunAccount, TriggerAccount and BuildAccount are the service accounts
	// the functions run as, Eventarc invokes the triggers as, and Cloud
	// Build builds as (empty: the platform's default, the Compute Engine
	// default service account).
	RunAccount, TriggerAccount, BuildAccount string
	// SkipSecrets are secrets the store does not use (SMTP_URL with the
	// Trigger Email extension, OMS_ALERT_WEBHOOK_URL without an alert
	// webhook, …): they are not mounted, and need not exist.
	SkipSecrets []string
	// Firebase is the firebase-tools command, default
	// node_modules/.bin/firebase (pinned in package.json).
	Firebase string
}

// Database is the Firestore database the functions use and their
// triggers listen to.
const Database = "(default)"

// TriggerLocationVar is the shell variable a plan without a trigger
// location reads the database's location into.
const TriggerLocationVar = "TRIGGER_LOCATION"

// APIs are the Google APIs a deployment uses; the plan enables them
// (enabling an enabled API changes nothing).
var APIs = []string{
	"cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
	"artifactregistry.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com",
	"cloudscheduler.googleapis.com", "secretmanager.googleapis.com", "firestore.googleapis.com",
	"firebaserules.googleapis.com",
}

func (o DeployOptions) withDefaults() DeployOptions {
	if o.Runtime == "" {
		o.Runtime = "go126"
	}
	if o.EnvFile == "" {
		o.EnvFile = "env.yaml"
	}
	if o.Region == "" {
		o.Region = "us-central1"
	}
	if o.Firebase == "" {
		o.Firebase = "node_modules/.bin/firebase"
	}
	if o.TriggerLocationFrom == "" {
		o.TriggerLocationFrom = "given"
	}
	return o
}

// DatabaseLocation returns the command that prints the location of the
// project's Firestore database: the location its triggers must use.
func DatabaseLocation(project string) []string {
	return []string{"gcloud", "firestore", "databases", "describe", "--database=" + Database,
		"--project=" + project, "--format=value(locationId)"}
}

// Step is one command of a deploy plan. When Exists is set, it is run
// first: if it succeeds (what the step makes exists already), Update runs
// instead of Argv, so that running the plan again updates.
type Step struct {
	What           string // one line, for the plan
	Argv           []string
	Exists, Update []string
}

// Plan is a whole deploy, derived from List: the APIs, a check that every
// secret exists, the rules and indexes, every function, the scheduler
// jobs. Its steps run in order and stop at the first failure; each may
// run again (a deploy updates what exists).
type Plan struct {
	Options DeployOptions
	// Lookup, when the options name no trigger location, is the command
	// that reads it (into TriggerLocationVar) before any step runs.
	Lookup []string
	Steps  []Step
}

// FunctionURL is the HTTPS address of a deployed HTTP function.
func FunctionURL(o DeployOptions, name string) string {
	o = o.withDefaults()
	return fmt.Sprintf("https://%s-%s.cloudfunctions.net/%s", o.Region, o.Project, name)
}

// Secrets returns the secrets f mounts: its own, less those skipped.
func (o DeployOptions) Secrets(f Function) []string {
	var out []string
	for _, s := range f.Secrets {
		if !slices.Contains(o.SkipSecrets, s) {
			out = append(out, s)
		}
	}
	return out
}

// DeployPlan returns the plan that deploys List with o. Validate o first.
func DeployPlan(o DeployOptions) Plan {
	o = o.withDefaults()
	p := Plan{Options: o}
	location := o.TriggerLocation
	if location == "" {
		p.Lookup = DatabaseLocation(o.Project)
		location = "$" + TriggerLocationVar
	}
	p.Steps = append(p.Steps, Step{What: "the APIs a deployment uses",
		Argv: append([]string{"gcloud", "services", "enable", "--project=" + o.Project}, APIs...)})
	for _, s := range AllSecrets() {
		if slices.Contains(o.SkipSecrets, s) {
			continue
		}
		p.Steps = append(p.Steps, Step{What: "secret " + s + " has a version (gcloud refuses a function naming a missing one)",
			Argv: []string{"gcloud", "secrets", "versions", "describe", "latest", "--secret=" + s, "--project=" + o.Project, "--format=value(name)"}})
	}
	p.Steps = append(p.Steps, Step{What: "Firestore rules and indexes (firebase.json)",
		Argv: []string{o.Firebase, "deploy", "--only", "firestore:rules,firestore:indexes", "--project", o.Project, "--non-interactive"}})
	for _, f := range List {
		p.Steps = append(p.Steps, Step{What: f.Name + " (" + string(f.Kind) + ", " + access(f.Kind) + ")", Argv: deployFunction(o, f, location)})
		if f.Kind == Scheduled {
			p.Steps = append(p.Steps, schedulerJob(o, f))
		}
	}
	return p
}

// access says who may call a function of kind k at the IAM level.
func access(k Kind) string {
	switch k {
	case Callable, Webhook, Owner:
		return "public"
	case Scheduled:
		return "private: Cloud Scheduler"
	default:
		return "private: Eventarc"
	}
}

func deployFunction(o DeployOptions, f Function, location string) []string {
	c := []string{"gcloud", "functions", "deploy", f.Name, "--gen2",
		"--project=" + o.Project, "--region=" + o.Region, "--runtime=" + o.Runtime,
		"--source=.", "--entry-point=" + f.Name, "--env-vars-file=" + o.EnvFile}
	switch f.Kind {
	case Callable, Webhook, Owner:
		// Callables and owner pages check Firebase ID tokens (or a
		// one-time key) and webhooks check their senders' signatures
		// themselves; IAM must let the calls in.
		c = append(c, "--trigger-http", "--allow-unauthenticated")
	case Scheduled:
		c = append(c, "--trigger-http", "--no-allow-unauthenticated")
	case Trigger:
		c = append(c,
			"--trigger-event-filters=type="+f.EventType,
			"--trigger-event-filters=database="+Database,
			"--trigger-event-filters=namespace="+Database,
			"--trigger-event-filters-path-pattern=document="+f.Document,
			"--trigger-location="+location,
			"--retry", "--no-allow-unauthenticated")
		if o.TriggerAccount != "" {
			c = append(c, "--trigger-service-account="+o.TriggerAccount)
		}
	}
	// Every setting is named, so that deploying again (an older commit
	// too) sets each to what the list says rather than keeping the last.
	r := f.Resources.WithDefaults()
	c = append(c, "--memory="+r.Memory, "--cpu="+r.CPU, "--concurrency="+strconv.Itoa(r.Concurrency),
		"--min-instances="+strconv.Itoa(r.MinInstances), "--max-instances="+strconv.Itoa(r.MaxInstances),
		"--timeout="+strconv.Itoa(int(timeout(f).Seconds()))+"s")
	if o.RunAccount != "" {
		c = append(c, "--run-service-account="+o.RunAccount)
	}
	if o.BuildAccount != "" {
		c = append(c, "--build-service-account=projects/"+o.Project+"/serviceAccounts/"+o.BuildAccount)
	}
	if secrets := o.Secrets(f); len(secrets) > 0 {
		var s []string
		for _, name := range secrets {
			s = append(s, name+"="+name+":latest")
		}
		c = append(c, "--set-secrets="+strings.Join(s, ","))
	} else {
		c = append(c, "--clear-secrets")
	}
	return c
}

// timeout is f's Timeout, or the platform's default of 60 s.
func timeout(f Function) time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return time.Minute
}

// schedulerJob is the Cloud Scheduler job of a scheduled function: created,
// or updated when it exists. Its attempt deadline is the function's
// timeout (Cloud Scheduler's own default is 3 minutes, at most 30).
func schedulerJob(o DeployOptions, f Function) Step {
	where := []string{f.Name, "--project=" + o.Project, "--location=" + o.Region}
	deadline := min(timeout(f), 30*time.Minute)
	flags := []string{"--schedule=" + f.Schedule, "--time-zone=Etc/UTC", "--http-method=POST",
		"--uri=" + FunctionURL(o, f.Name), "--attempt-deadline=" + strconv.Itoa(int(deadline.Seconds())) + "s",
		"--oidc-service-account-email=" + o.SchedulerAccount}
	return Step{What: "Cloud Scheduler job " + f.Name + " (" + f.Schedule + " UTC)",
		Exists: slices.Concat([]string{"gcloud", "scheduler", "jobs", "describe"}, where, []string{"--format=value(name)"}),
		Update: slices.Concat([]string{"gcloud", "scheduler", "jobs", "update", "http"}, where, flags),
		Argv:   slices.Concat([]string{"gcloud", "scheduler", "jobs", "create", "http"}, where, flags)}
}

// Commands returns every command line of the plan: the lookup, and each
// step's (its probe and both alternatives).
func (p Plan) Commands() [][]string {
	var out [][]string
	if p.Lookup != nil {
		out = append(out, p.Lookup)
	}
	for _, s := range p.Steps {
		for _, c := range [][]string{s.Exists, s.Update, s.Argv} {
			if c != nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// Script renders the plan as a POSIX shell script that runs it, stopping
// at the first failure.
func (p Plan) Script() string {
	o := p.Options
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# The deploy of project %s (functions in %s), derived from functions.List:\n", o.Project, o.Region)
	fmt.Fprintf(&b, "# %d functions and their scheduler jobs. Run it from the repository root.\nset -eu\n", len(List))
	if p.Lookup != nil {
		fmt.Fprintf(&b, "\n# Firestore triggers listen where the database is: its location, read now.\n")
		fmt.Fprintf(&b, "%s=$(%s)\n", TriggerLocationVar, ShellQuote(p.Lookup))
		fmt.Fprintf(&b, "[ -n \"$%s\" ] || { echo 'deploy: the database has no location: is Firestore created in %s?' >&2; exit 1; }\n", TriggerLocationVar, o.Project)
	} else {
		fmt.Fprintf(&b, "\n# Firestore triggers listen where the database is: %s (%s).\n", o.TriggerLocation, o.TriggerLocationFrom)
	}
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "\n# %s\n", s.What)
		if s.Exists != nil {
			fmt.Fprintf(&b, "if %s >/dev/null 2>&1; then\n  %s\nelse\n  %s\nfi\n", ShellQuote(s.Exists), ShellQuote(s.Update), ShellQuote(s.Argv))
		} else {
			fmt.Fprintf(&b, "%s\n", ShellQuote(s.Argv))
		}
	}
	return b.String()
}

var (
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	region    = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]$`)
	location  = regexp.MustCompile(`^[a-z0-9-]+$`)
	email     = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-z]+$`)
	// gcloud's forms (googlecloudsdk/command_lib/functions/v2/deploy):
	// memory is an amount with a unit (any case), CPU a decimal or
	// millicores.
	memoryValue = regexp.MustCompile(`^([0-9]+)([kKmMgG][iI]?)[bB]?$`)
	cpuValue    = regexp.MustCompile(`^([0-9]*\.?[0-9]+)(m?)$`)
)

// Validate reports every problem of o and of the list's deploy settings
// that gcloud would only find after it has reached the project (or that
// the platform would refuse then): each with what to change.
func (o DeployOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !projectID.MatchString(o.Project) {
		bad("project %q is not a project id (6-30 lowercase letters, digits, hyphens)", o.Project)
	}
	if !region.MatchString(o.Region) {
		bad("region %q is not a region such as us-central1", o.Region)
	}
	if o.TriggerLocation != "" && !location.MatchString(o.TriggerLocation) {
		bad("trigger location %q is not a location such as nam5 or us-central1", o.TriggerLocation)
	}
	if !email.MatchString(o.SchedulerAccount) {
		bad("scheduler account %q is not a service account's email", o.SchedulerAccount)
	}
	for _, a := range []string{o.RunAccount, o.TriggerAccount, o.BuildAccount} {
		if a != "" && !email.MatchString(a) {
			bad("service account %q is not an email", a)
		}
	}
	all := AllSecrets()
	for _, s := range o.SkipSecrets {
		if !slices.Contains(all, s) {
			bad("skipped secret %q is not one any function reads (%s)", s, strings.Join(all, ", "))
		}
		for _, required := range []string{app.StripeKey, app.StripeWebhookSecret} {
			if s == required {
				bad("secret %s cannot be skipped: no order is paid without it", s)
			}
		}
	}
	for _, f := range List {
		errs = append(errs, f.validateDeploy())
	}
	return errors.Join(errs...)
}

// validateDeploy checks f's resources and timeout against the platform's
// limits (Cloud Run functions).
func (f Function) validateDeploy() error {
	r := f.Resources.WithDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{f.Name}, args...)...))
	}
	mem, err := memoryBytes(r.Memory)
	if err != nil {
		bad("%v", err)
	}
	cpu, err := cpus(r.CPU)
	if err != nil {
		bad("%v", err)
	}
	switch {
	case r.Concurrency < 1 || r.Concurrency > 1000:
		bad("concurrency %d is not within 1–1000", r.Concurrency)
	case r.Concurrency > 1 && cpu < 1:
		bad("concurrency %d needs at least 1 vCPU (has %s)", r.Concurrency, r.CPU)
	}
	if cpu > 0 && cpu < 1 && cpu*1000 != float64(int(cpu*1000)) {
		bad("cpu %s: a fraction of a vCPU is given in thousandths", r.CPU)
	}
	if cpu > 1 && !slices.Contains([]float64{2, 4, 6, 8}, cpu) {
		bad("cpu %s: above 1, a function has 2, 4, 6 or 8 vCPUs", r.CPU)
	}
	if mem > 0 && cpu > 0 {
		switch {
		case mem < 128<<20:
			bad("memory %s is below 128Mi", r.Memory)
		case mem > 32<<30:
			bad("memory %s is above 32Gi", r.Memory)
		case mem > 1<<30 && cpu < 1, mem > 4<<30 && cpu < 2, mem > 8<<30 && cpu < 4, mem > 16<<30 && cpu < 6, mem > 24<<30 && cpu < 8:
			bad("memory %s needs more vCPUs than %s", r.Memory, r.CPU)
		}
	}
	if r.MaxInstances < 1 || r.MinInstances < 0 || r.MinInstances > r.MaxInstances {
		bad("instances: min %d, max %d (want 0 ≤ min ≤ max, max ≥ 1)", r.MinInstances, r.MaxInstances)
	}
	limit := 60 * time.Minute
	if f.Kind == Trigger {
		limit = 9 * time.Minute // event-driven functions
	}
	if t := timeout(f); t > limit || t%time.Second != 0 {
		bad("timeout %s: whole seconds, at most %s for a %s", t, limit, f.Kind)
	}
	return errors.Join(errs...)
}

// memoryBytes parses a memory amount as gcloud does for 2nd gen.
func memoryBytes(s string) (int64, error) {
	m := memoryValue.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("memory %q is not an amount with a unit (k, M, G, Ki, Mi, Gi), e.g. 512Mi", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memory %q: %w", s, err)
	}
	unit := map[string]int64{"K": 1e3, "M": 1e6, "G": 1e9, "KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30}[strings.ToUpper(m[2])]
	return n * unit, nil
}

// cpus parses a vCPU count: a decimal, or millicores (500m).
func cpus(s string) (float64, error) {
	m := cpuValue.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("cpu %q is not a number of vCPUs, e.g. 1, 2 or 0.5", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("cpu %q is not a positive number of vCPUs", s)
	}
	if m[2] == "m" {
		v /= 1000
	}
	return v, nil
}

// ReadEnvFile reads the plain settings of an env file as gcloud's
// --env-vars-file takes them: one KEY: value a line, the value bare or
// quoted. It reads what env.example.yaml uses, not all of YAML.
func ReadEnvFile(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key != strings.TrimSpace(key) || key == "" {
			return nil, fmt.Errorf("line %d: not KEY: value", i+1)
		}
		value = strings.TrimSpace(value)
		if n := len(value); n >= 2 && value[0] == '\'' && value[n-1] == '\'' {
			value = strings.ReplaceAll(value[1:n-1], "''", "'")
		} else if n >= 2 && value[0] == '"' && value[n-1] == '"' {
			if value, err := strconv.Unquote(value); err == nil {
				out[key] = value
				continue
			}
			return nil, fmt.Errorf("line %d: a double-quoted value this reader does not take", i+1)
		}
		out[key] = value
	}
	return out, nil
}

// CheckEnvFile reports settings of an env file that contradict o: the
// project and region the functions are told must be where they run.
func (o DeployOptions) CheckEnvFile(text string) error {
	o = o.withDefaults()
	env, err := ReadEnvFile(text)
	if err != nil {
		return fmt.Errorf("%s: %w", o.EnvFile, err)
	}
	var errs []error
	if env["OMS_PROJECT_ID"] != o.Project {
		errs = append(errs, fmt.Errorf("%s: OMS_PROJECT_ID is %q; the deploy is to %s (the functions are not told their project otherwise)", o.EnvFile, env["OMS_PROJECT_ID"], o.Project))
	}
	if r := env["OMS_REGION"]; r != "" && r != o.Region {
		errs = append(errs, fmt.Errorf("%s: OMS_REGION is %q; the functions are deployed to %s", o.EnvFile, r, o.Region))
	}
	if e := env["OMS_ENV"]; e != "" && e != "production" {
		errs = append(errs, fmt.Errorf("%s: OMS_ENV is %q; a deployment is production", o.EnvFile, e))
	}
	return errors.Join(errs...)
}

// ShellQuote renders argv as one POSIX shell command line. An argument
// that names TriggerLocationVar is double-quoted so that the shell
// expands the variable.
func ShellQuote(argv []string) string {
	const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@"
	out := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case a != "" && strings.Trim(a, safe) == "":
			out[i] = a
		case strings.Contains(a, "$"+TriggerLocationVar) && strings.Trim(strings.ReplaceAll(a, "$"+TriggerLocationVar, ""), safe) == "":
			out[i] = `"` + a + `"`
		default:
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
