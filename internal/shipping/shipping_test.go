package shipping

import (
	"reflect"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
)

func TestValidate(t *testing.T) {
	ok := Address{Name: " Ann ", AddressLine1: "1 Main St", CityLocality: "Austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "us"}
	a, err := ok.Validate()
	if err != nil || a.Name != "Ann" || a.CountryCode != "US" {
		t.Fatalf("%+v %v", a, err)
	}
	tests := []struct {
		name   string
		change func(*Address)
		fields []string
	}{
		{"missing line1 and city", func(a *Address) { a.AddressLine1, a.CityLocality = "", " " }, []string{"addressLine1", "cityLocality"}},
		{"bad country", func(a *Address) { a.CountryCode = "USA" }, []string{"countryCode"}},
		{"bad US ZIP", func(a *Address) { a.PostalCode = "7870" }, []string{"postalCode"}},
		{"ZIP+4 is fine", func(a *Address) { a.PostalCode = "78701-1234" }, nil},
		{"bad residential", func(a *Address) { a.Residential = "maybe" }, []string{"residential"}},
	}
	for _, tt := range tests {
		a := ok
		tt.change(&a)
		_, err := a.Validate()
		if tt.fields == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid || !reflect.DeepEqual(e.Details.(map[string]any)["fields"], tt.fields) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestDifferences(t *testing.T) {
	typed := Address{AddressLine1: "123  main st", CityLocality: "austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}
	same := Address{AddressLine1: "123 MAIN ST", CityLocality: "AUSTIN", StateProvince: "tx", PostalCode: "78701", CountryCode: "US"}
	if d := Differences(typed, same); len(d) != 0 {
		t.Errorf("case and spaces must not count: %v", d)
	}
	zip4 := same
	zip4.PostalCode = "78701-1234"
	if d := Differences(typed, zip4); !reflect.DeepEqual(d, []string{"postalCode"}) {
		t.Errorf("ZIP+4: %v", d)
	}
}

func TestPackageFor(t *testing.T) {
	if p := PackageFor(640, Box{LengthCM: 30, WidthCM: 22, HeightCM: 8, TareGrams: 150}); p != (Package{790, 30, 22, 8}) {
		t.Errorf("%+v", p)
	}
}
