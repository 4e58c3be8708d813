package config

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"OMS_PROJECT_ID": "demo-oms", "OMS_ENV": "development"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-central1" || c.Currency != "USD" || c.TimeZone.String() != "America/New_York" || c.LogLevel != "info" || c.EnforceAppCheck || c.RedriveAfter.Minutes() != 10 || c.HoldTTL.Minutes() != 30 || c.MaxPerLine != 20 {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.StorefrontOrigins) != 2 || !c.Development() {
		t.Errorf("development origins: %v", c.StorefrontOrigins)
	}
}

func TestEveryProblemInOneError(t *testing.T) {
	_, err := Load(env(map[string]string{
		"OMS_ENV":                     "production",
		"OMS_REGION":                  "mars",
		"OMS_CURRENCY":                "dollars",
		"OMS_TIMEZONE":                "Nowhere/City",
		"OMS_APPCHECK":                "maybe",
		"LOG_LEVEL":                   "loud",
		"OMS_REDRIVE_AFTER":           "5s",
		"OMS_HOLD_TTL":                "48h",
		"OMS_MAX_PER_LINE":            "0",
		"OMS_DEFAULT_BOX":             "big",
		"OMS_SHIP_FROM":               `{"name":"x"}`,
		"OMS_STOREFRONT_ORIGINS":      "https://shop.example.com/path",
		"FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
		"OMS_QUICKBOOKS_REDIRECT_URL": "http://shop.example.com/quickbooksCallback",
		"OMS_ADMIN_CLAIM":             "is-admin",
		"OMS_OWNER_EMAIL":             "owner at shop",
		"OMS_QUICKBOOKS_ITEMS":        `["Shipping"]`,
	}), "STRIPE_SECRET_KEY")
	if err == nil {
		t.Fatal("Load accepted a broken configuration")
	}
	msg := err.Error()
	for _, want := range []string{"OMS_PROJECT_ID is missing",
		`OMS_HOLD_TTL: "48h" is not a duration from 1m to 24h (e.g. 30m)`, `OMS_REDRIVE_AFTER: "5s" is not a duration from 1m to 24h (e.g. 10m)`, "OMS_REGION", "OMS_CURRENCY", "OMS_TIMEZONE", "OMS_APPCHECK",
		"LOG_LEVEL", "not an origin", "FIREBASE_AUTH_EMULATOR_HOST is set but OMS_ENV is production", "STRIPE_SECRET_KEY is missing", "OMS_REDRIVE_AFTER", "OMS_HOLD_TTL", "OMS_MAX_PER_LINE", "OMS_DEFAULT_BOX", "OMS_SHIP_FROM", "OMS_SHIPENGINE_CARRIERS is missing",
		"OMS_QUICKBOOKS_REDIRECT_URL: \"http://shop.example.com/quickbooksCallback\" must be https in production", `OMS_ADMIN_CLAIM: "is-admin" is not a claim name`,
		`OMS_OWNER_EMAIL: "owner at shop" is not an email address`, "OMS_QUICKBOOKS_ITEMS: not a JSON object", "19 problems"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}

func TestProductionNeedsOrigins(t *testing.T) {
	_, err := Load(env(map[string]string{"OMS_PROJECT_ID": "shop-prod"}))
	if err == nil || !strings.Contains(err.Error(), "OMS_STOREFRONT_ORIGINS is missing") {
		t.Fatalf("err = %v", err)
	}
	c, err := Load(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "shop-prod", "OMS_STOREFRONT_ORIGINS": "https://a.example, https://a.example,https://b.example:8443",
		"OMS_SHIPENGINE_CARRIERS": "se-1, se-2",
		"OMS_QUICKBOOKS_ITEMS":    `{"Shipping": "SHIPPING_ITEM_ID", "PEN-RED-3": "17"}`,
		"OMS_SHIP_FROM":           `{"name":"Shop","addressLine1":"1 A St","cityLocality":"Austin","stateProvince":"TX","postalCode":"78701","countryCode":"us"}`}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != "shop-prod" || len(c.StorefrontOrigins) != 2 || len(c.Carriers) != 2 || c.ShipFrom.CountryCode != "US" || c.DefaultBox.TareGrams != 150 {
		t.Errorf("config %+v", c)
	}
	// QuickBooks' connect flow defaults to the deployed callback's URL.
	if c.QuickBooksRedirectURL != "https://us-central1-shop-prod.cloudfunctions.net/quickbooksCallback" || c.QuickBooksAuthorizeURL != "https://appcenter.intuit.com/connect/oauth2" ||
		c.AdminClaim != "admin" || c.OwnerEmail != "" || c.QuickBooksItems["Shipping"] != "SHIPPING_ITEM_ID" || c.QuickBooksItems["PEN-RED-3"] != "17" {
		t.Errorf("quickbooks connect defaults: %q %q %q %q", c.QuickBooksRedirectURL, c.QuickBooksAuthorizeURL, c.AdminClaim, c.OwnerEmail)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c, err := Load(env(map[string]string{"OMS_PROJECT_ID": "demo-oms", "OMS_ENV": "development", "STRIPE_SECRET_KEY": "sk_test_supersecret"}), "STRIPE_SECRET_KEY")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), string(j)} {
		if strings.Contains(s, "supersecret") {
			t.Errorf("secret leaked: %s", s)
		}
	}
	if c.Secret("STRIPE_SECRET_KEY").Reveal() != "sk_test_supersecret" {
		t.Error("Reveal lost the value")
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", 24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s"} {
		if got := short(d); got != want {
			t.Errorf("short(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestDotEnv(t *testing.T) {
	got, err := parseDotEnv(bufio.NewScanner(strings.NewReader("# comment\n\nexport A=1\nB = \"two words\" \nC='x#y'\nD=v # trailing\n")))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"A", "1"}, {"B", "two words"}, {"C", "x#y"}, {"D", "v"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseDotEnv(bufio.NewScanner(strings.NewReader("no equals sign\n"))); err == nil {
		t.Error("a line without = must fail")
	}

	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("OMS_TEST_DOTENV_A=file\nOMS_TEST_DOTENV_B=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OMS_TEST_DOTENV_A", "env")
	if err := LoadDotEnv(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Unsetenv("OMS_TEST_DOTENV_B") })
	if os.Getenv("OMS_TEST_DOTENV_A") != "env" || os.Getenv("OMS_TEST_DOTENV_B") != "file" {
		t.Error("the environment must win over .env, and .env must fill the rest")
	}
	if err := LoadDotEnv(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing .env is not an error: %v", err)
	}
}

// The printer writes to the job's contact email about the job (a refusal,
// a missing payment method): the owner's, never the customer's. With the
// printer configured, OMS_OWNER_EMAIL is required at start-up.
func TestPrinterNeedsTheOwnersEmail(t *testing.T) {
	vars := map[string]string{"OMS_PROJECT_ID": "demo-oms", "OMS_ENV": "development", "LULU_CLIENT_KEY": "key", "LULU_CLIENT_SECRET": "secret"}
	_, err := Load(env(vars), "LULU_CLIENT_KEY", "LULU_CLIENT_SECRET")
	if err == nil || !strings.Contains(err.Error(), "OMS_OWNER_EMAIL is missing") {
		t.Errorf("the printer without the owner's email: %v", err)
	}
	vars["OMS_OWNER_EMAIL"] = "owner@example.com"
	if c, err := Load(env(vars), "LULU_CLIENT_KEY", "LULU_CLIENT_SECRET"); err != nil || c.OwnerEmail != "owner@example.com" {
		t.Errorf("with the owner's email: %v", err)
	}
	delete(vars, "OMS_OWNER_EMAIL")
	vars["STRIPE_SECRET_KEY"] = "sk_test_x"
	if _, err := Load(env(vars), "STRIPE_SECRET_KEY"); err != nil {
		t.Errorf("a function without the printer needs no owner's email: %v", err)
	}
}

// OMS_TAX chooses who works out the sales tax: none by default; the rate
// table from a file or inline JSON, validated at start-up; Stripe Tax
// with an optional default tax code. Anything else is refused by name.
func TestSalesTaxChoice(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"OMS_PROJECT_ID": "demo-oms", "OMS_ENV": "development"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := Load(env(base(nil)))
	if err != nil || c.Tax != TaxNone || len(c.TaxTable.Rules) != 0 {
		t.Errorf("the default: %q %v", c.Tax, err)
	}
	table := `{"sourcing":"origin","rules":[{"country":"US","state":"TX","rate":"8.25","shipping":true,"name":"Texas"}]}`
	file := filepath.Join(t.TempDir(), "rates.json")
	if err := os.WriteFile(file, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{table, file} {
		c, err := Load(env(base(map[string]string{"OMS_TAX": "Table", "OMS_TAX_TABLE": v})))
		if err != nil || c.Tax != TaxTable || len(c.TaxTable.Rules) != 1 || c.TaxTable.Rules[0].Rate != 82_500 {
			t.Errorf("the table from %.20q: %+v %v", v, c.TaxTable, err)
		}
	}
	c, err = Load(env(base(map[string]string{"OMS_TAX": "stripe", "OMS_TAX_CODE": "txcd_99999999"})))
	if err != nil || c.Tax != TaxStripe || c.TaxCode != "txcd_99999999" {
		t.Errorf("Stripe Tax: %q %q %v", c.Tax, c.TaxCode, err)
	}
	for _, bad := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"OMS_TAX": "avalara"}, `OMS_TAX: "avalara" is not none, stripe or table`},
		{map[string]string{"OMS_TAX": "table"}, "OMS_TAX_TABLE is missing"},
		{map[string]string{"OMS_TAX": "table", "OMS_TAX_TABLE": "/no/such/rates.json"}, "OMS_TAX_TABLE: open /no/such/rates.json"},
		{map[string]string{"OMS_TAX": "table", "OMS_TAX_TABLE": `{"sourcing":"destination","rules":[{"country":"US","state":"TX","rate":"82.5"}]}`}, "OMS_TAX_TABLE:"},
		{map[string]string{"OMS_TAX_TABLE": table}, `OMS_TAX_TABLE is set but OMS_TAX is "none"`},
		{map[string]string{"OMS_TAX": "stripe", "OMS_TAX_CODE": "general"}, `OMS_TAX_CODE: "general" is not a Stripe tax code`},
	} {
		if _, err := Load(env(base(bad.vars))); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want %q", bad.vars, err, bad.want)
		}
	}
}
