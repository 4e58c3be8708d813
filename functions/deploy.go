package functions

import (
	"fmt"
	"strings"
)

// DeployOptions are the per-project facts the deploy commands need.
type DeployOptions struct {
	Project         string // the Firebase/GCP project id
	Region          string // where the functions run, e.g. us-central1
	Runtime         string // Cloud Functions Go runtime, default go126 (go.mod says go 1.26)
	TriggerLocation string // the Firestore database's location, e.g. nam5 or us-central1
	EnvFile         string // a YAML file of plain (non-secret) environment variables, default env.yaml
	// SchedulerAccount is the service account Cloud Scheduler uses to call
	// scheduled functions (it needs roles/run.invoker on them).
	SchedulerAccount string
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
	if o.TriggerLocation == "" {
		o.TriggerLocation = o.Region
	}
	return o
}

// DeployCommands returns, for every function of List, the gcloud command
// lines (argv) that deploy it from the repository root, plus the Cloud
// Scheduler job of each scheduled function.
func DeployCommands(o DeployOptions) [][]string {
	o = o.withDefaults()
	var cmds [][]string
	for _, f := range List {
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
				"--trigger-event-filters=database=(default)",
				"--trigger-event-filters-path-pattern=document="+f.Document,
				"--trigger-location="+o.TriggerLocation,
				"--retry")
		}
		if f.Timeout > 0 {
			c = append(c, fmt.Sprintf("--timeout=%ds", int(f.Timeout.Seconds())))
		}
		if len(f.Secrets) > 0 {
			var s []string
			for _, name := range f.Secrets {
				s = append(s, name+"="+name+":latest")
			}
			c = append(c, "--set-secrets="+strings.Join(s, ","))
		}
		cmds = append(cmds, c)
		if f.Kind == Scheduled {
			cmds = append(cmds, []string{"gcloud", "scheduler", "jobs", "create", "http", f.Name,
				"--project=" + o.Project, "--location=" + o.Region, "--schedule=" + f.Schedule, "--time-zone=Etc/UTC",
				"--http-method=POST", fmt.Sprintf("--uri=https://%s-%s.cloudfunctions.net/%s", o.Region, o.Project, f.Name),
				"--oidc-service-account-email=" + o.SchedulerAccount})
		}
	}
	return cmds
}

// ShellQuote renders argv as one POSIX shell command line.
func ShellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
