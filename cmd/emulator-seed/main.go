// Command emulator-seed writes the demo store (see internal/seed) into the
// Firestore emulator named by FIRESTORE_EMULATOR_HOST. Safe to run twice.
// It refuses to run without the emulator variable, so that it can never
// write demo data into a real project.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/seed"
)

func main() {
	_ = config.LoadDotEnv(".env")
	project := flag.String("project", envOr("OMS_PROJECT_ID", "demo-oms"), "project id")
	flag.Parse()
	if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		fmt.Fprintln(os.Stderr, "emulator-seed: FIRESTORE_EMULATOR_HOST is not set; it only seeds the emulator (make dev seeds by itself)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := firestore.NewClient(ctx, *project)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator-seed:", err)
		os.Exit(1)
	}
	defer c.Close()
	r, err := seed.Seed(ctx, c, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulator-seed:", err)
		os.Exit(1)
	}
	fmt.Printf("seeded %s on %s: %d products, %d SKUs, %d promotions; inventory %d created, %d kept\n",
		*project, os.Getenv("FIRESTORE_EMULATOR_HOST"), r.Products, r.SKUs, r.Promotions, r.InventoryCreated, r.InventoryKept)
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
