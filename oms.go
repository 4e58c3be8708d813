// Package oms is the deploy root: Google's Go buildpack compiles the
// repository root as the function package, and uses its modern generated
// main only when this package itself imports the Functions Framework's
// functions package. Importing it here and registering every function of
// functions.List makes `gcloud functions deploy NAME --source=.` work for
// each of them (see docs/architecture.md, "Deploying").
package oms

import (
	framework "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/readyplanner/oms/functions"
)

func init() {
	functions.Register(functions.Registrar{HTTP: framework.HTTP, CloudEvent: framework.CloudEvent})
}
