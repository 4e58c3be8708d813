package stripepay

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

func TestKeyAndBaseValidation(t *testing.T) {
	for _, k := range []string{"", "pk_test_abc", "sk_test_", "sk_prod_abc"} {
		if _, err := New(Options{SecretKey: k}); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if _, err := New(Options{SecretKey: "sk_test_123", APIBase: "localhost:12111"}); err == nil {
		t.Error("an API base without a scheme was accepted")
	}
	if _, err := New(Options{SecretKey: "rk_live_abc"}); err != nil {
		t.Errorf("restricted live key refused: %v", err)
	}
}

// The client as configured reaches stripe-mock, which validates requests
// against Stripe's OpenAPI spec: a valid request passes, an invalid one is
// refused with Stripe's error shape.
// stripeMock starts stripe-mock for one test and returns a client on it
// (skipped outside CI when stripe-mock is not installed).
func stripeMock(t *testing.T) *client.API {
	t.Helper()
	if _, err := emulator.FindStripeMock(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	m, err := emulator.StartStripeMock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	api, err := New(Options{SecretKey: "sk_test_123", APIBase: m.URL, Logger: logging.New(io.Discard, "debug"), MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestClientAgainstStripeMock(t *testing.T) {
	api := stripeMock(t)
	pi, err := api.PaymentIntents.Get("pi_123", nil)
	if err != nil || pi.ID == "" {
		t.Fatalf("retrieve a PaymentIntent: %+v %v", pi, err)
	}
	params := &stripe.PaymentIntentParams{Currency: stripe.String("usd")} // no amount
	params.SetIdempotencyKey("test-missing-amount")
	_, err = api.PaymentIntents.New(params)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest {
		t.Fatalf("a PaymentIntent without amount: %v", err)
	}
}
