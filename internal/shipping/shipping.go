// Package shipping is the shipping domain: addresses as customers type
// them, how two addresses differ, the package an order ships in, and rate
// quotes. It imports no SDK; the ShipEngine adapter speaks to the carrier
// side.
package shipping

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// Address is a postal address. Field names follow ShipEngine's.
type Address struct {
	Name          string `json:"name"`
	Phone         string `json:"phone,omitempty"`
	CompanyName   string `json:"companyName,omitempty"`
	AddressLine1  string `json:"addressLine1"`
	AddressLine2  string `json:"addressLine2,omitempty"`
	AddressLine3  string `json:"addressLine3,omitempty"`
	CityLocality  string `json:"cityLocality"`
	StateProvince string `json:"stateProvince"`
	PostalCode    string `json:"postalCode"`
	CountryCode   string `json:"countryCode"`
	// Residential is "unknown", "yes" or "no" (ShipEngine's
	// address_residential_indicator); empty means unknown.
	Residential string `json:"residential,omitempty"`
}

var (
	country = regexp.MustCompile(`^[A-Z]{2}$`)
	usZIP   = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)
)

// Normalize trims every field and upper-cases the country code.
func (a Address) Normalize() Address {
	t := strings.TrimSpace
	return Address{Name: t(a.Name), Phone: t(a.Phone), CompanyName: t(a.CompanyName), AddressLine1: t(a.AddressLine1),
		AddressLine2: t(a.AddressLine2), AddressLine3: t(a.AddressLine3), CityLocality: t(a.CityLocality),
		StateProvince: t(a.StateProvince), PostalCode: t(a.PostalCode), CountryCode: strings.ToUpper(t(a.CountryCode)),
		Residential: strings.ToLower(t(a.Residential))}
}

// Validate checks the fields a shipment needs and returns the address
// normalised; INVALID_ARGUMENT names every bad field (details.fields).
func (a Address) Validate() (Address, error) {
	a = a.Normalize()
	var bad []string
	need := map[string]string{"name": a.Name, "addressLine1": a.AddressLine1, "cityLocality": a.CityLocality,
		"stateProvince": a.StateProvince, "countryCode": a.CountryCode, "postalCode": a.PostalCode}
	for _, f := range []string{"name", "addressLine1", "cityLocality", "stateProvince", "postalCode", "countryCode"} {
		if need[f] == "" {
			bad = append(bad, f)
		}
	}
	for f, v := range map[string]string{"name": a.Name, "addressLine1": a.AddressLine1, "addressLine2": a.AddressLine2,
		"addressLine3": a.AddressLine3, "cityLocality": a.CityLocality, "companyName": a.CompanyName, "phone": a.Phone} {
		if len(v) > 100 && !contains(bad, f) {
			bad = append(bad, f)
		}
	}
	if a.CountryCode != "" && !country.MatchString(a.CountryCode) {
		bad = append(bad, "countryCode")
	}
	if a.CountryCode == "US" && a.PostalCode != "" && !usZIP.MatchString(a.PostalCode) {
		bad = append(bad, "postalCode")
	}
	switch a.Residential {
	case "", "unknown", "yes", "no":
	default:
		bad = append(bad, "residential")
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return a, apperr.New(apperr.Invalid, "the address is missing or has a malformed %s", strings.Join(bad, ", ")).
			Because(ReasonBadAddress).On(bad[0]).WithDetails(map[string]any{"fields": bad})
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var spaces = regexp.MustCompile(`\s+`)

func norm(s string) string {
	return strings.ToUpper(spaces.ReplaceAllString(strings.TrimSpace(s), " "))
}

// Differences lists the fields (by their JSON names) where matched differs
// from typed, comparing case- and white-space-insensitively. A ZIP+4 filled
// in for a five-digit ZIP counts as a difference: the customer should see it.
func Differences(typed, matched Address) []string {
	var out []string
	pairs := []struct {
		name string
		a, b string
	}{
		{"addressLine1", typed.AddressLine1, matched.AddressLine1},
		{"addressLine2", typed.AddressLine2, matched.AddressLine2},
		{"addressLine3", typed.AddressLine3, matched.AddressLine3},
		{"cityLocality", typed.CityLocality, matched.CityLocality},
		{"stateProvince", typed.StateProvince, matched.StateProvince},
		{"postalCode", typed.PostalCode, matched.PostalCode},
		{"countryCode", typed.CountryCode, matched.CountryCode},
	}
	for _, p := range pairs {
		if norm(p.a) != norm(p.b) {
			out = append(out, p.name)
		}
	}
	return out
}

// Package is what an order ships in: weight in grams, outer size in cm.
type Package struct {
	WeightGrams int64
	LengthCM    int64
	WidthCM     int64
	HeightCM    int64
}

// Box is the store's default box: its size and its own weight.
type Box struct {
	LengthCM, WidthCM, HeightCM int64
	TareGrams                   int64
}

// PackageFor returns the package for items of the given total weight in
// the default box.
func PackageFor(itemsGrams int64, box Box) Package {
	return Package{WeightGrams: itemsGrams + box.TareGrams, LengthCM: box.LengthCM, WidthCM: box.WidthCM, HeightCM: box.HeightCM}
}

// Rate is one carrier service's price for the package, as quoted.
type Rate struct {
	RateID            string
	CarrierID         string
	Carrier           string // friendly name
	Service           string // friendly name
	ServiceCode       string
	Amount            money.Money // what the customer pays: shipping + insurance + confirmation + other
	DeliveryDays      int64       // 0 when unknown
	EstimatedDelivery time.Time   // zero when unknown
}

// Validation is what address validation said.
type Validation struct {
	Status   string // verified, unverified, warning, error
	Matched  *Address
	Messages []string
}

// ReasonBadAddress is the INVALID_ARGUMENT reason of an address with
// missing or malformed fields: details.fields names every one (sorted),
// details.field the first.
const ReasonBadAddress = "bad_address"

// carriers are the carriers' names as customers read them, and their
// public tracking pages, by ShipEngine's carrier code.
var carriers = map[string]struct{ name, track string }{
	"stamps_com":  {"USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="},
	"usps":        {"USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="},
	"ups":         {"UPS", "https://www.ups.com/track?tracknum="},
	"fedex":       {"FedEx", "https://www.fedex.com/fedextrack/?trknbr="},
	"dhl_express": {"DHL Express", "https://www.dhl.com/us-en/home/tracking.html?tracking-id="},
	"canada_post": {"Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor="},
}

// CarrierName is the carrier of a carrier code as customers read it (the
// code itself for a carrier not listed).
func CarrierName(code string) string {
	if c, ok := carriers[code]; ok {
		return c.name
	}
	return code
}

// TrackingURL is the carrier's public tracking page of a tracking number
// ("" for a carrier not listed).
func TrackingURL(code, number string) string {
	if c, ok := carriers[code]; ok && number != "" {
		return c.track + url.QueryEscape(number)
	}
	return ""
}
