// Command quickbooks-link prints a one-time link that lets the owner
// connect (or reconnect) QuickBooks without an admin account: it stores the
// hash of a fresh key in Firestore (integrations/quickbooks/connectKeys)
// and prints quickbooksConnect's URL with the key. The link works once,
// within -ttl. It runs with the owner's Google credentials against the
// project (gcloud auth application-default login), or against the
// emulator named by FIRESTORE_EMULATOR_HOST.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/firestoredb"
)

func main() {
	_ = config.LoadDotEnv(".env")
	project := flag.String("project", envOr("OMS_PROJECT_ID", envOr("GOOGLE_CLOUD_PROJECT", "")), "project id")
	region := flag.String("region", envOr("OMS_REGION", "us-central1"), "the functions' region")
	base := flag.String("functions-url", "", "where the functions are served (default https://REGION-PROJECT.cloudfunctions.net; make dev: http://localhost:5001)")
	ttl := flag.Duration("ttl", firestoredb.ConnectKeyTTL, "how long the link works (it works once)")
	flag.Parse()
	if *project == "" {
		fail(2, "set -project or OMS_PROJECT_ID")
	}
	if *ttl < time.Minute || *ttl > 24*time.Hour {
		fail(2, "-ttl must be from 1m to 24h")
	}
	if *base == "" {
		*base = fmt.Sprintf("https://%s-%s.cloudfunctions.net", *region, *project)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := firestore.NewClient(ctx, *project)
	if err != nil {
		fail(1, err.Error())
	}
	defer c.Close()
	key, expires, err := firestoredb.NewQuickBooksTokens(c, nil).MintConnectKey(ctx, *ttl)
	if err != nil {
		fail(1, err.Error())
	}
	fmt.Printf("Open this link in your browser to connect QuickBooks (works once, until %s):\n\n  %s/quickbooksConnect?key=%s\n\n",
		expires.Local().Format("2006-01-02 15:04 MST"), strings.TrimRight(*base, "/"), url.QueryEscape(key))
}

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, "quickbooks-link:", msg)
	os.Exit(code)
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
