// Command deploy prints the gcloud commands that deploy every function of
// functions.List (and the sweeper's Cloud Scheduler job), one per line, for
// review and then `| sh`. It runs nothing itself.
//
//	go run ./cmd/deploy -project my-shop -region us-central1 -trigger-location nam5 \
//	    -scheduler-account scheduler@my-shop.iam.gserviceaccount.com
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/readyplanner/oms/functions"
)

func main() {
	var o functions.DeployOptions
	flag.StringVar(&o.Project, "project", "", "the Firebase/GCP project id (required)")
	flag.StringVar(&o.Region, "region", "us-central1", "the functions' region")
	flag.StringVar(&o.Runtime, "runtime", "go126", "the Cloud Functions Go runtime")
	flag.StringVar(&o.TriggerLocation, "trigger-location", "", "the Firestore database's location (default: the region)")
	flag.StringVar(&o.EnvFile, "env-file", "env.yaml", "YAML file of non-secret environment variables")
	flag.StringVar(&o.SchedulerAccount, "scheduler-account", "", "service account Cloud Scheduler calls the sweeper as (required)")
	flag.Parse()
	if o.Project == "" || o.SchedulerAccount == "" {
		fmt.Fprintln(os.Stderr, "deploy: -project and -scheduler-account are required")
		flag.Usage()
		os.Exit(2)
	}
	for _, c := range functions.DeployCommands(o) {
		fmt.Println(functions.ShellQuote(c))
	}
}
