// Command owner grants or revokes the store owner's custom claim
// (OMS_ADMIN_CLAIM, default "admin") on a Firebase Auth account, by email:
//
//	go run ./cmd/owner grant owner@example.com
//	go run ./cmd/owner revoke owner@example.com
//
// The account must exist (sign in once with it). A grant reaches the
// owner's next ID token: sign in again. A revoke also revokes the account's
// refresh tokens, so that its console sessions and owner callables stop at
// once. It runs with your Google credentials against the project (gcloud
// auth application-default login), or against the Auth emulator named by
// FIREBASE_AUTH_EMULATOR_HOST.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/firebaseauth"
)

func main() {
	_ = config.LoadDotEnv(".env")
	project := flag.String("project", envOr("OMS_PROJECT_ID", envOr("GOOGLE_CLOUD_PROJECT", "")), "project id")
	claim := flag.String("claim", envOr("OMS_ADMIN_CLAIM", "admin"), "the owner's custom claim")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: owner [-project P] [-claim C] grant|revoke EMAIL")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 || (flag.Arg(0) != "grant" && flag.Arg(0) != "revoke") || !strings.Contains(flag.Arg(1), "@") {
		flag.Usage()
		os.Exit(2)
	}
	if *project == "" {
		fail(2, "set -project or OMS_PROJECT_ID")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: *project})
	if err != nil {
		fail(1, err.Error())
	}
	owners, err := firebaseauth.NewOwners(ctx, app, *claim)
	if err != nil {
		fail(1, err.Error())
	}
	email := strings.TrimSpace(flag.Arg(1))
	grant := flag.Arg(0) == "grant"
	do := owners.Revoke
	if grant {
		do = owners.Grant
	}
	uid, changed, err := do(ctx, email)
	if err != nil {
		fail(1, err.Error())
	}
	switch {
	case grant && changed:
		fmt.Printf("%s (%s) is now the store's owner (claim %q); sign in again to use it.\n", email, uid, *claim)
	case grant:
		fmt.Printf("%s (%s) already is the store's owner (claim %q).\n", email, uid, *claim)
	case changed:
		fmt.Printf("%s (%s) is no longer the store's owner; its sessions and tokens are revoked.\n", email, uid)
	default:
		fmt.Printf("%s (%s) was not the store's owner.\n", email, uid)
	}
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, "owner:", msg)
	os.Exit(code)
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
