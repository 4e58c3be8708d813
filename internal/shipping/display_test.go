package shipping

import (
	"slices"
	"testing"
)

func TestRateName(t *testing.T) {
	for _, c := range []struct{ carrier, service, want string }{
		{"USPS", "USPS Ground Advantage", "USPS Ground Advantage"},
		{"UPS", "UPS® Ground", "UPS® Ground"},
		{"DHL Express", "Worldwide", "DHL Express Worldwide"},
		{"", "Ground", "Ground"},
		{"FedEx", "", "FedEx"},
	} {
		if got := (Rate{Carrier: c.carrier, Service: c.service}).Name(); got != c.want {
			t.Errorf("%q %q: %q, want %q", c.carrier, c.service, got, c.want)
		}
	}
}

func TestAddressLines(t *testing.T) {
	a := Address{Name: "Ann Lee", AddressLine1: "500 CONGRESS AVE", CityLocality: "AUSTIN", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}
	if got := a.OneLine(); got != "Ann Lee, 500 CONGRESS AVE, AUSTIN, TX 78701, US" {
		t.Errorf("OneLine = %q", got)
	}
	a.CompanyName, a.AddressLine2, a.StateProvince = "ReadyPlanner", "Suite 4", ""
	if got, want := a.Lines(), []string{"Ann Lee", "ReadyPlanner", "500 CONGRESS AVE", "Suite 4", "AUSTIN, 78701", "US"}; !slices.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	if got := (Address{CityLocality: "Paris", CountryCode: "FR"}).Lines(); !slices.Equal(got, []string{"Paris", "FR"}) {
		t.Errorf("a city alone: %q", got)
	}
}
