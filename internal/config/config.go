// Package config reads the service's configuration from the environment
// (and, in development, a .env file), validates all of it at start, and
// reports every missing or malformed setting in one error. Secrets are held
// in a type that never prints its value.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the store's time zone must load on any base image

	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
)

// Environments.
const (
	Production  = "production"
	Development = "development"
)

// Secret is a configuration value that must never be logged. fmt, JSON and
// zerolog all print it as "[redacted]"; Reveal returns the value.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.v != "" }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText keeps encoders (JSON, zerolog's Interface) from printing it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is everything the functions read from their environment.
type Config struct {
	Env       string // OMS_ENV: production (default) or development
	ProjectID string // OMS_PROJECT_ID, else GOOGLE_CLOUD_PROJECT
	Region    string // OMS_REGION, default us-central1
	// StorefrontOrigins are the browser origins allowed to call callables
	// (OMS_STOREFRONT_ORIGINS, comma-separated "scheme://host[:port]").
	// Required in production; development defaults to localhost:3000.
	StorefrontOrigins []string
	// EnforceAppCheck (OMS_APPCHECK=enforce) refuses callable requests
	// without a valid App Check token. Default off.
	EnforceAppCheck bool
	Currency        string         // OMS_CURRENCY, ISO 4217, default USD
	TimeZone        *time.Location // OMS_TIMEZONE, IANA name, default America/New_York
	LogLevel        string         // LOG_LEVEL: debug, info (default), warn, error
	// RedriveAfter (OMS_REDRIVE_AFTER, a Go duration, default 10m) is how
	// long an order may sit in a state whose step should have moved it on
	// before the sweeper re-drives it.
	RedriveAfter time.Duration
	// HoldTTL (OMS_HOLD_TTL, default 30m, 1m–24h) is how long checkout
	// holds stock for a pending order.
	HoldTTL time.Duration
	// MaxPerLine (OMS_MAX_PER_LINE, default 20) caps a SKU's quantity in
	// one order where the SKU sets no maxPerOrder of its own.
	MaxPerLine int64
	// PlusAddressing (OMS_PLUS_ADDRESSING=true) treats ann+x@example.com as
	// ann@example.com for promotions tied to emails and per-email limits.
	// Default false: plus addresses are different customers.
	PlusAddressing bool

	// Shipping. ShipEngineURL (OMS_SHIPENGINE_URL) defaults to ShipEngine's
	// API; the local system points it at its local ShipEngine. Carriers
	// (OMS_SHIPENGINE_CARRIERS, comma-separated se-… ids) and ShipFrom
	// (OMS_SHIP_FROM, a JSON address) are required in production. DefaultBox
	// (OMS_DEFAULT_BOX, "LxWxHcm+Tg", default 30x22x8cm+150g) is the box an
	// order ships in; QuoteTTL (OMS_QUOTE_TTL, default 15m) how long a quote
	// stands. LabelFormat (OMS_LABEL_FORMAT: pdf, the default, or zpl) is
	// the format of the parcels' labels, 4×6 inches. ShipEngineJWKSURL
	// (OMS_SHIPENGINE_JWKS_URL, default ShipEngine's) is the key set its
	// track webhooks are verified with.
	ShipEngineJWKSURL string
	ShipEngineURL     string
	Carriers          []string
	ShipFrom          shipping.Address
	DefaultBox        shipping.Box
	QuoteTTL          time.Duration
	LabelFormat       string

	// Payments. StripeAPIBase (OMS_STRIPE_API_BASE) overrides Stripe's API
	// URL (the local Stripe, stripe-mock); SessionTTL (OMS_PAYMENT_SESSION_TTL,
	// default 1h, 30m–24h as Stripe allows) is how long a Checkout Session,
	// and so the holds, lasts.
	StripeAPIBase string
	SessionTTL    time.Duration

	// Sales tax. Tax (OMS_TAX) is who works it out: "none" (the default:
	// no tax is collected, every invoice line is non-taxable), "stripe"
	// (Stripe Tax: a Tax Calculation per sale, recorded once paid,
	// reversed by refunds) or "table" (the store's own rate table,
	// TaxTable from OMS_TAX_TABLE: a file's path, or the JSON itself; its
	// figures are the store's own responsibility). TaxCode (OMS_TAX_CODE)
	// is the product tax code of SKUs that name none (Stripe's txcd_…;
	// "": the Stripe account's preset).
	Tax      string
	TaxTable tax.Table
	TaxCode  string

	// Bookkeeping. QuickBooksBaseURL (OMS_QUICKBOOKS_BASE_URL) is the API:
	// production by default, https://sandbox-quickbooks.api.intuit.com for a
	// sandbox company; QuickBooksTokenURL (OMS_QUICKBOOKS_TOKEN_URL) Intuit's
	// token endpoint unless overridden (the local QuickBooks); ShippingItem
	// (OMS_QUICKBOOKS_SHIPPING_ITEM, default "Shipping") the item shipping
	// is invoiced as.
	QuickBooksBaseURL  string
	QuickBooksTokenURL string
	ShippingItem       string
	// QuickBooksItems (OMS_QUICKBOOKS_ITEMS, a JSON object) maps SKUs and
	// item names to QuickBooks item ids, checked before any lookup: e.g.
	// {"Shipping":"SHIPPING_ITEM_ID","PEN-RED-3":"17"}.
	QuickBooksItems map[string]string
	// RefundItem (OMS_QUICKBOOKS_REFUND_ITEM, default "Refunds") is the
	// item a refund receipt's line is recorded as (a service item whose
	// income account the owner chooses); RefundAccount
	// (OMS_QUICKBOOKS_REFUND_ACCOUNT, an account's name) the account
	// refunds are paid from, by default the one each invoice's payment was
	// deposited to.
	RefundItem    string
	RefundAccount string
	// QuickBooksTaxCode (OMS_QUICKBOOKS_TAX_CODE, a tax code's name or id)
	// is the code a company with manual sales tax records the orders' tax
	// under; "" : the company's one sales tax code with rates.
	// QuickBooksTaxItem (OMS_QUICKBOOKS_TAX_ITEM, default "Sales Tax") is
	// the item the tax is recorded as in a company that tracks no sales
	// tax.
	QuickBooksTaxCode string
	QuickBooksTaxItem string
	// Connecting QuickBooks. QuickBooksAuthorizeURL
	// (OMS_QUICKBOOKS_AUTHORIZE_URL) is Intuit's consent page unless
	// overridden (the local QuickBooks); QuickBooksRedirectURL
	// (OMS_QUICKBOOKS_REDIRECT_URL) is quickbooksCallback's URL as
	// registered in the Intuit app: by default the deployed function's
	// https://REGION-PROJECT.cloudfunctions.net/quickbooksCallback, and
	// http://localhost:5001/quickbooksCallback in development.
	QuickBooksAuthorizeURL string
	QuickBooksRedirectURL  string

	// The owner's console. ConsoleURL (OMS_CONSOLE_URL, default the owner
	// function's https://REGION-PROJECT.cloudfunctions.net/owner/) is its
	// public address, ending in "/"; FirebaseAPIKey (OMS_FIREBASE_API_KEY,
	// the web app's public API key) lets its sign-in page reach Firebase
	// Auth.
	ConsoleURL     string
	FirebaseAPIKey string
	// Google sign-in for the console: GoogleClientID (OMS_GOOGLE_CLIENT_ID)
	// is the Firebase Google provider's web client (its secret is the
	// GOOGLE_CLIENT_SECRET secret); without it the console offers email
	// and password only. GoogleAuthURL (OMS_GOOGLE_AUTH_URL) and
	// GoogleTokenURL (OMS_GOOGLE_TOKEN_URL) are Google's unless
	// overridden (the local Google).
	GoogleClientID, GoogleAuthURL, GoogleTokenURL string
	// AdminClaim (OMS_ADMIN_CLAIM, default "admin") is the Firebase Auth
	// custom claim that makes a user the owner: a token whose claim is true
	// may connect QuickBooks.
	AdminClaim string
	// OwnerEmail (OMS_OWNER_EMAIL) receives the owner's alerts by mail
	// (mail/{id}); without it alerts are recorded in alerts/ and logged.
	// It is the printer's contact for its jobs, so it is required where
	// the printer is configured (LULU_CLIENT_KEY).
	OwnerEmail string

	// Mail. MailSender (OMS_MAIL_SENDER) is who delivers the outbox
	// (mail/{id}): "builtin" (default; through SMTP_URL, a secret) or
	// "extension" (the Trigger Email extension installed in the project).
	// MailFrom (OMS_MAIL_FROM) is the sender address, e.g.
	// "ReadyPlanner <orders@readyplanner.example>"; in development a
	// made-up one. The store's identity in its emails: StoreName
	// (OMS_STORE_NAME, default "ReadyPlanner"), StoreAddress
	// (OMS_STORE_ADDRESS, the postal address emails must carry),
	// SupportEmail (OMS_SUPPORT_EMAIL, default MailFrom's address),
	// StoreURL (OMS_STORE_URL, default the first storefront origin) and
	// BrandColor (OMS_BRAND_COLOR, a #rrggbb colour, default #2f5d50).
	// SummaryHour (OMS_SUMMARY_HOUR, 0–23, default 8) is the local hour
	// (OMS_TIMEZONE) from which the owner's daily summary is mailed.
	SummaryHour  int
	MailSender   string
	MailFrom     string
	StoreName    string
	StoreAddress string
	SupportEmail string
	StoreURL     string
	BrandColor   string

	// The printer (Lulu's Print API). PrinterURL (OMS_PRINTER_URL) defaults
	// to https://api.lulu.com (https://api.sandbox.lulu.com for its
	// sandbox). PrinterShippingLevels (OMS_PRINTER_SHIPPING_LEVELS, a JSON
	// object) maps the chosen rate's service code to the printer's
	// shipping level; PrinterShippingLevel (OMS_PRINTER_SHIPPING_LEVEL,
	// default MAIL) is the level of any other. PrinterPhone
	// (OMS_PRINTER_PHONE) is the store's phone, sent when the customer gave
	// none (the printer requires one); in development a made-up one. PrinterUnpaidAlertAfter
	// (OMS_PRINTER_UNPAID_ALERT_AFTER, default 2h) is how long a job may
	// wait unpaid at the printer before the owner is alerted.
	PrinterURL              string
	PrinterShippingLevels   map[string]string
	PrinterShippingLevel    string
	PrinterPhone            string
	PrinterUnpaidAlertAfter time.Duration

	// FirestoreEmulatorHost and AuthEmulatorHost are read by the Google
	// SDKs themselves; they are recorded here so that production can refuse
	// them (an emulator host in production would switch off token checks).
	FirestoreEmulatorHost string // FIRESTORE_EMULATOR_HOST
	AuthEmulatorHost      string // FIREBASE_AUTH_EMULATOR_HOST

	// Secrets holds the secrets that were asked for, by variable name.
	Secrets map[string]Secret
}

// printerKey is the printer's client key (app.PrinterKey): set, the
// printer is configured.
const printerKey = "LULU_CLIENT_KEY"

// optionalSecrets may be empty where a function asks for them (the
// feature they enable is then off).
var optionalSecrets = map[string]bool{"SMTP_URL": true, "OMS_ALERT_WEBHOOK_URL": true, "GOOGLE_CLIENT_SECRET": true}

// Who delivers the outbox (OMS_MAIL_SENDER).
const (
	MailBuiltIn   = "builtin"
	MailExtension = "extension"
)

var brandColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Development reports whether the service runs locally.
func (c Config) Development() bool { return c.Env == Development }

// Who works out the sales tax (OMS_TAX).
const (
	TaxNone   = "none"
	TaxStripe = "stripe"
	TaxTable  = "table"
)

// taxCode is a Stripe product tax code.
var taxCode = regexp.MustCompile(`^txcd_[0-9]{8}$`)

// Secret returns the named secret (empty if it was not asked for).
func (c Config) Secret(name string) Secret { return c.Secrets[name] }

// Lookup reads one variable, like os.LookupEnv.
type Lookup func(string) (string, bool)

var (
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	region    = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]$`)
	currency  = regexp.MustCompile(`^[A-Z]{3}$`)
	hostPort  = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$`)
	claimName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	email     = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$`)
)

// Load reads and validates the configuration. secrets names the secret
// variables this process needs (the function list says which); each must be
// set. The error, if any, lists every problem at once.
func Load(lookup Lookup, secrets ...string) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	c := Config{Env: get("OMS_ENV"), ProjectID: get("OMS_PROJECT_ID"), Region: get("OMS_REGION"),
		Currency: strings.ToUpper(get("OMS_CURRENCY")), LogLevel: strings.ToLower(get("LOG_LEVEL")),
		FirestoreEmulatorHost: get("FIRESTORE_EMULATOR_HOST"), AuthEmulatorHost: get("FIREBASE_AUTH_EMULATOR_HOST"),
		Secrets: map[string]Secret{}}

	if c.Env == "" {
		c.Env = Production
	}
	if c.Env != Production && c.Env != Development {
		bad("OMS_ENV: %q is neither %q nor %q", c.Env, Production, Development)
	}
	if c.ProjectID == "" {
		c.ProjectID = get("GOOGLE_CLOUD_PROJECT")
	}
	switch {
	case c.ProjectID == "":
		bad("OMS_PROJECT_ID is missing (the Firebase project id, e.g. demo-oms)")
	case !projectID.MatchString(c.ProjectID):
		bad("OMS_PROJECT_ID: %q is not a project id (6–30 lower-case letters, digits, hyphens)", c.ProjectID)
	}
	if c.Region == "" {
		c.Region = "us-central1"
	} else if !region.MatchString(c.Region) {
		bad("OMS_REGION: %q is not a region such as us-central1", c.Region)
	}
	if c.Currency == "" {
		c.Currency = "USD"
	} else if !currency.MatchString(c.Currency) {
		bad("OMS_CURRENCY: %q is not an ISO 4217 code such as USD", c.Currency)
	}
	tz := get("OMS_TIMEZONE")
	if tz == "" {
		tz = "America/New_York"
	}
	if loc, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		bad("OMS_TIMEZONE: %q is not an IANA time zone such as America/New_York", tz)
	} else {
		c.TimeZone = loc
	}
	switch c.LogLevel {
	case "":
		c.LogLevel = "info"
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	// duration reads a Go duration between lo and hi, or def when unset.
	duration := func(name string, def, lo, hi time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			bad("%s: %q is not a duration from %s to %s (e.g. %s)", name, v, short(lo), short(hi), short(def))
			return def
		}
		return d
	}
	c.RedriveAfter = duration("OMS_REDRIVE_AFTER", 10*time.Minute, time.Minute, 24*time.Hour)
	c.HoldTTL = duration("OMS_HOLD_TTL", 30*time.Minute, time.Minute, 24*time.Hour)
	c.MaxPerLine = 20
	if v := get("OMS_MAX_PER_LINE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 99 {
			bad("OMS_MAX_PER_LINE: %q is not a whole number from 1 to 99", v)
		} else {
			c.MaxPerLine = n
		}
	}
	c.ShipEngineURL = get("OMS_SHIPENGINE_URL")
	if c.ShipEngineURL == "" {
		c.ShipEngineURL = "https://api.shipengine.com"
	} else if u, err := url.Parse(c.ShipEngineURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OMS_SHIPENGINE_URL: %q is not an http(s) URL", c.ShipEngineURL)
	}
	for _, id := range strings.Split(get("OMS_SHIPENGINE_CARRIERS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.Carriers = append(c.Carriers, id)
		}
	}
	if len(c.Carriers) == 0 && c.Env == Production {
		bad("OMS_SHIPENGINE_CARRIERS is missing (the ShipEngine carrier ids to quote, e.g. se-123456,se-234567)")
	}
	from := get("OMS_SHIP_FROM")
	if from == "" && c.Env == Development {
		from = `{"name":"ReadyPlanner","addressLine1":"1 Warehouse Rd","cityLocality":"Portland","stateProvince":"OR","postalCode":"97201","countryCode":"US"}`
	}
	if from == "" {
		bad("OMS_SHIP_FROM is missing (the origin address as JSON: name, addressLine1, cityLocality, stateProvince, postalCode, countryCode)")
	} else if err := json.Unmarshal([]byte(from), &c.ShipFrom); err != nil {
		bad("OMS_SHIP_FROM: not a JSON address: %v", err)
	} else if c.ShipFrom, err = c.ShipFrom.Validate(); err != nil {
		bad("OMS_SHIP_FROM: %v", err)
	}
	box := get("OMS_DEFAULT_BOX")
	if box == "" {
		box = "30x22x8cm+150g"
	}
	if n, err := fmt.Sscanf(box, "%dx%dx%dcm+%dg", &c.DefaultBox.LengthCM, &c.DefaultBox.WidthCM, &c.DefaultBox.HeightCM, &c.DefaultBox.TareGrams); err != nil || n != 4 ||
		c.DefaultBox.LengthCM <= 0 || c.DefaultBox.WidthCM <= 0 || c.DefaultBox.HeightCM <= 0 || c.DefaultBox.TareGrams < 0 {
		bad("OMS_DEFAULT_BOX: %q is not LxWxHcm+Tg (e.g. 30x22x8cm+150g)", box)
	}
	c.QuoteTTL = duration("OMS_QUOTE_TTL", 15*time.Minute, time.Minute, 24*time.Hour)
	if c.ShipEngineJWKSURL = get("OMS_SHIPENGINE_JWKS_URL"); c.ShipEngineJWKSURL == "" {
		c.ShipEngineJWKSURL = "https://api.shipengine.com/jwks"
	} else if u, err := url.Parse(c.ShipEngineJWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Scheme != "https" && c.Env == Production) {
		bad("OMS_SHIPENGINE_JWKS_URL: %q is not an https URL (http only outside production)", c.ShipEngineJWKSURL)
	}
	switch c.LabelFormat = get("OMS_LABEL_FORMAT"); c.LabelFormat {
	case "":
		c.LabelFormat = "pdf"
	case "pdf", "zpl":
	default:
		bad("OMS_LABEL_FORMAT: %q is not pdf or zpl", c.LabelFormat)
	}
	c.SessionTTL = duration("OMS_PAYMENT_SESSION_TTL", time.Hour, 30*time.Minute+time.Minute, 24*time.Hour)
	c.TaxCode = get("OMS_TAX_CODE")
	if c.TaxCode != "" && !taxCode.MatchString(c.TaxCode) {
		bad("OMS_TAX_CODE: %q is not a Stripe tax code such as txcd_99999999", c.TaxCode)
	}
	switch c.Tax = strings.ToLower(get("OMS_TAX")); c.Tax {
	case "":
		c.Tax = TaxNone
	case TaxNone, TaxStripe:
	case TaxTable:
		raw := get("OMS_TAX_TABLE")
		if raw != "" && !strings.HasPrefix(raw, "{") {
			b, err := os.ReadFile(raw)
			if err != nil {
				bad("OMS_TAX_TABLE: %v", err)
				break
			}
			raw = string(b)
		}
		if raw == "" {
			bad("OMS_TAX_TABLE is missing (OMS_TAX=table needs the rate table: a file's path or the JSON itself; see docs/tax.md)")
		} else if t, err := tax.ParseTable([]byte(raw)); err != nil {
			bad("OMS_TAX_TABLE: %v", err)
		} else {
			c.TaxTable = t
		}
	default:
		bad("OMS_TAX: %q is not none, stripe or table", c.Tax)
	}
	if c.Tax != TaxTable && get("OMS_TAX_TABLE") != "" {
		bad("OMS_TAX_TABLE is set but OMS_TAX is %q: set OMS_TAX=table to use the table", c.Tax)
	}
	for _, u := range []struct {
		name string
		dst  *string
		def  string
	}{
		{"OMS_QUICKBOOKS_BASE_URL", &c.QuickBooksBaseURL, "https://quickbooks.api.intuit.com"},
		{"OMS_QUICKBOOKS_TOKEN_URL", &c.QuickBooksTokenURL, "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"},
	} {
		if *u.dst = get(u.name); *u.dst == "" {
			*u.dst = u.def
		} else if p, err := url.Parse(*u.dst); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad("%s: %q is not an http(s) URL", u.name, *u.dst)
		}
	}
	redirectDefault := fmt.Sprintf("https://%s-%s.cloudfunctions.net/quickbooksCallback", c.Region, c.ProjectID)
	if c.Env == Development {
		redirectDefault = "http://localhost:5001/quickbooksCallback"
	}
	for _, u := range []struct {
		name string
		dst  *string
		def  string
	}{
		{"OMS_QUICKBOOKS_AUTHORIZE_URL", &c.QuickBooksAuthorizeURL, "https://appcenter.intuit.com/connect/oauth2"},
		{"OMS_QUICKBOOKS_REDIRECT_URL", &c.QuickBooksRedirectURL, redirectDefault},
		{"OMS_GOOGLE_AUTH_URL", &c.GoogleAuthURL, "https://accounts.google.com/o/oauth2/v2/auth"},
		{"OMS_GOOGLE_TOKEN_URL", &c.GoogleTokenURL, "https://oauth2.googleapis.com/token"},
	} {
		if *u.dst = get(u.name); *u.dst == "" {
			*u.dst = u.def
		} else if p, err := url.Parse(*u.dst); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
			bad("%s: %q is not an http(s) URL without query or fragment", u.name, *u.dst)
		} else if c.Env == Production && p.Scheme != "https" {
			bad("%s: %q must be https in production", u.name, *u.dst)
		}
	}
	consoleDefault := fmt.Sprintf("https://%s-%s.cloudfunctions.net/owner/", c.Region, c.ProjectID)
	if c.Env == Development {
		consoleDefault = "http://localhost:5001/owner/"
	}
	if c.ConsoleURL = get("OMS_CONSOLE_URL"); c.ConsoleURL == "" {
		c.ConsoleURL = consoleDefault
	} else if p, err := url.Parse(c.ConsoleURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" ||
		!strings.HasSuffix(p.Path, "/") || (c.Env == Production && p.Scheme != "https") {
		bad("OMS_CONSOLE_URL: %q is not the console's URL ending in / (https in production)", c.ConsoleURL)
	}
	if c.FirebaseAPIKey = get("OMS_FIREBASE_API_KEY"); c.FirebaseAPIKey == "" && c.Env == Development {
		c.FirebaseAPIKey = "local-api-key" // the Auth emulator takes any key
	}
	c.GoogleClientID = get("OMS_GOOGLE_CLIENT_ID")
	if c.AdminClaim = get("OMS_ADMIN_CLAIM"); c.AdminClaim == "" {
		c.AdminClaim = "admin"
	} else if !claimName.MatchString(c.AdminClaim) {
		bad("OMS_ADMIN_CLAIM: %q is not a claim name (letters, digits, underscores; up to 64)", c.AdminClaim)
	}
	if c.OwnerEmail = get("OMS_OWNER_EMAIL"); c.OwnerEmail != "" && !email.MatchString(c.OwnerEmail) {
		bad("OMS_OWNER_EMAIL: %q is not an email address", c.OwnerEmail)
	}
	c.SummaryHour = 8
	if h := get("OMS_SUMMARY_HOUR"); h != "" {
		if n, err := strconv.Atoi(h); err != nil || n < 0 || n > 23 {
			bad("OMS_SUMMARY_HOUR: %q is not an hour (0-23)", h)
		} else {
			c.SummaryHour = n
		}
	}
	switch c.MailSender = get("OMS_MAIL_SENDER"); c.MailSender {
	case "":
		c.MailSender = MailBuiltIn
	case MailBuiltIn, MailExtension:
	default:
		bad("OMS_MAIL_SENDER: %q is neither %q nor %q", c.MailSender, MailBuiltIn, MailExtension)
	}
	if c.MailFrom = get("OMS_MAIL_FROM"); c.MailFrom == "" && c.Env == Development {
		c.MailFrom = "ReadyPlanner <orders@readyplanner.example>"
	} else if _, err := mail.ParseAddress(c.MailFrom); c.MailFrom != "" && err != nil {
		bad("OMS_MAIL_FROM: %q is not an address (%v)", c.MailFrom, err)
	}
	if c.StoreName = get("OMS_STORE_NAME"); c.StoreName == "" {
		c.StoreName = "ReadyPlanner"
	}
	if c.StoreAddress = get("OMS_STORE_ADDRESS"); c.StoreAddress == "" && c.Env == Development {
		c.StoreAddress = "ReadyPlanner, 1 Example Street, Springfield, OR 97477, USA"
	}
	if c.SupportEmail = get("OMS_SUPPORT_EMAIL"); c.SupportEmail == "" {
		if a, err := mail.ParseAddress(c.MailFrom); err == nil {
			c.SupportEmail = a.Address
		}
	} else if !email.MatchString(c.SupportEmail) {
		bad("OMS_SUPPORT_EMAIL: %q is not an email address", c.SupportEmail)
	}
	c.StoreURL = get("OMS_STORE_URL")
	if c.BrandColor = get("OMS_BRAND_COLOR"); c.BrandColor == "" {
		c.BrandColor = "#2f5d50"
	} else if !brandColor.MatchString(c.BrandColor) {
		bad("OMS_BRAND_COLOR: %q is not a #rrggbb colour", c.BrandColor)
	}
	if c.PrinterURL = get("OMS_PRINTER_URL"); c.PrinterURL == "" {
		c.PrinterURL = "https://api.lulu.com"
	} else if u, err := url.Parse(c.PrinterURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("OMS_PRINTER_URL: %q is not an http(s) URL", c.PrinterURL)
	}
	c.PrinterShippingLevels = map[string]string{"usps_ground_advantage": "GROUND_HD", "ups_ground": "GROUND_HD",
		"usps_priority_mail": "PRIORITY_MAIL", "ups_2nd_day_air": "EXPEDITED"}
	if v := get("OMS_PRINTER_SHIPPING_LEVELS"); v != "" {
		c.PrinterShippingLevels = nil
		if err := json.Unmarshal([]byte(v), &c.PrinterShippingLevels); err != nil {
			bad("OMS_PRINTER_SHIPPING_LEVELS: not a JSON object of service code → printer shipping level: %v", err)
		}
	}
	if c.PrinterShippingLevel = get("OMS_PRINTER_SHIPPING_LEVEL"); c.PrinterShippingLevel == "" {
		c.PrinterShippingLevel = "MAIL"
	}
	for k, lvl := range c.PrinterShippingLevels {
		if !slices.Contains(shipping.PrinterLevels, lvl) {
			bad("OMS_PRINTER_SHIPPING_LEVELS: %q → %q is not one of %s", k, lvl, strings.Join(shipping.PrinterLevels, ", "))
		}
	}
	if !slices.Contains(shipping.PrinterLevels, c.PrinterShippingLevel) {
		bad("OMS_PRINTER_SHIPPING_LEVEL: %q is not one of %s", c.PrinterShippingLevel, strings.Join(shipping.PrinterLevels, ", "))
	}
	if c.PrinterPhone = get("OMS_PRINTER_PHONE"); c.PrinterPhone == "" && c.Env == Development {
		c.PrinterPhone = "+1 503 555 0100" // the development warehouse's
	} else if c.PrinterPhone != "" && !shipping.PrinterPhone.MatchString(c.PrinterPhone) {
		bad("OMS_PRINTER_PHONE: %q is not a phone number the printer accepts (8–20 digits, spaces, + - . / ( ))", c.PrinterPhone)
	}
	c.PrinterUnpaidAlertAfter = 2 * time.Hour
	if v := get("OMS_PRINTER_UNPAID_ALERT_AFTER"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < time.Minute {
			bad("OMS_PRINTER_UNPAID_ALERT_AFTER: %q is not a duration of at least 1m", v)
		} else {
			c.PrinterUnpaidAlertAfter = d
		}
	}
	if v := get("OMS_QUICKBOOKS_ITEMS"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.QuickBooksItems); err != nil {
			bad("OMS_QUICKBOOKS_ITEMS: not a JSON object of SKU or item name → QuickBooks item id: %v", err)
		}
		for k, id := range c.QuickBooksItems {
			if strings.TrimSpace(k) == "" || strings.TrimSpace(id) == "" {
				bad("OMS_QUICKBOOKS_ITEMS: %q → %q: keys and item ids must not be empty", k, id)
			}
		}
	}
	if c.ShippingItem = get("OMS_QUICKBOOKS_SHIPPING_ITEM"); c.ShippingItem == "" {
		c.ShippingItem = "Shipping"
	}
	if c.RefundItem = get("OMS_QUICKBOOKS_REFUND_ITEM"); c.RefundItem == "" {
		c.RefundItem = "Refunds"
	}
	c.RefundAccount = get("OMS_QUICKBOOKS_REFUND_ACCOUNT")
	c.QuickBooksTaxCode, c.QuickBooksTaxItem = get("OMS_QUICKBOOKS_TAX_CODE"), get("OMS_QUICKBOOKS_TAX_ITEM")
	if c.StripeAPIBase = get("OMS_STRIPE_API_BASE"); c.StripeAPIBase != "" {
		if u, err := url.Parse(c.StripeAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OMS_STRIPE_API_BASE: %q is not an http(s) URL", c.StripeAPIBase)
		}
	}
	switch v := strings.ToLower(get("OMS_PLUS_ADDRESSING")); v {
	case "", "false":
	case "true":
		c.PlusAddressing = true
	default:
		bad("OMS_PLUS_ADDRESSING: %q is neither true nor false", v)
	}
	switch v := strings.ToLower(get("OMS_APPCHECK")); v {
	case "", "off":
	case "enforce":
		c.EnforceAppCheck = true
	default:
		bad("OMS_APPCHECK: %q is neither off nor enforce", v)
	}

	origins := get("OMS_STOREFRONT_ORIGINS")
	if origins == "" && c.Env == Development {
		origins = "http://localhost:3000,http://127.0.0.1:3000"
	}
	if origins == "" {
		bad("OMS_STOREFRONT_ORIGINS is missing (the storefront's origins, e.g. https://shop.example.com)")
	}
	for _, o := range strings.Split(origins, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if err := checkOrigin(o); err != nil {
			bad("OMS_STOREFRONT_ORIGINS: %v", err)
			continue
		}
		if !slices.Contains(c.StorefrontOrigins, o) {
			c.StorefrontOrigins = append(c.StorefrontOrigins, o)
		}
	}
	if c.StoreURL == "" && len(c.StorefrontOrigins) > 0 {
		c.StoreURL = c.StorefrontOrigins[0]
	}

	for name, v := range map[string]string{"FIRESTORE_EMULATOR_HOST": c.FirestoreEmulatorHost, "FIREBASE_AUTH_EMULATOR_HOST": c.AuthEmulatorHost} {
		if v == "" {
			continue
		}
		if c.Env == Production {
			bad("%s is set but OMS_ENV is production: emulators are for development only", name)
		} else if !hostPort.MatchString(v) {
			bad("%s: %q is not host:port", name, v)
		}
	}

	for _, name := range secrets {
		v := get(name)
		if v == "" && optionalSecrets[name] {
			continue
		}
		if v == "" {
			bad("%s is missing (a secret: set it in Secret Manager, or in .env for development)", name)
			continue
		}
		c.Secrets[name] = NewSecret(v)
	}

	// The printer writes to the job's contact email (a refused file, a
	// missing payment method): that is the owner, never the customer.
	if c.Secrets[printerKey].IsSet() && c.OwnerEmail == "" {
		bad("OMS_OWNER_EMAIL is missing: the printer (%s is set) needs the owner's email as its jobs' contact", printerKey)
	}

	if len(problems) > 0 {
		slices.Sort(problems)
		return Config{}, errors.New("config: " + plural(len(problems)) + ":\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}

// short renders 30m0s as 30m, 24h0m0s as 24h and 1h30m0s as 1h30m.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin (scheme://host[:port], no path)", o)
	}
	return nil
}
