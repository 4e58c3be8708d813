// Command printer-webhook registers the deployed printerWebhook with the
// printer (Lulu) for PRINT_JOB_STATUS_CHANGED deliveries. Running it again
// is harmless: a URL already subscribed is reused, and activated again if
// Lulu deactivated it (after five failed deliveries in a row). It reads
// LULU_CLIENT_KEY and LULU_CLIENT_SECRET from the environment (or .env) and
// OMS_PRINTER_URL (https://api.lulu.com by default).
//
//	go run ./cmd/printer-webhook -url https://us-central1-my-shop.cloudfunctions.net/printerWebhook
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/lulu"
)

func main() {
	url := flag.String("url", "", "printerWebhook's public URL (https)")
	flag.Parse()
	if err := config.LoadDotEnv(".env"); err != nil {
		fmt.Fprintln(os.Stderr, "printer-webhook:", err)
	}
	base := os.Getenv("OMS_PRINTER_URL")
	if base == "" {
		base = "https://api.lulu.com"
	}
	key, secret := os.Getenv("LULU_CLIENT_KEY"), os.Getenv("LULU_CLIENT_SECRET")
	switch {
	case *url == "" || !(strings.HasPrefix(*url, "https://") || strings.HasPrefix(*url, "http://127.0.0.1") || strings.HasPrefix(*url, "http://localhost")):
		fmt.Fprintln(os.Stderr, "printer-webhook: -url must be printerWebhook's https URL")
		os.Exit(2)
	case key == "" || secret == "":
		fmt.Fprintln(os.Stderr, "printer-webhook: set LULU_CLIENT_KEY and LULU_CLIENT_SECRET")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := lulu.New(lulu.Options{BaseURL: base, Key: key, Secret: secret}).Subscribe(ctx, *url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "printer-webhook:", err)
		os.Exit(1)
	}
	fmt.Printf("%s receives PRINT_JOB_STATUS_CHANGED from %s (subscription %s, active)\n", *url, base, id)
}
