package shipping

import "strings"

// Name is the rate's service as people read it: the service's name, after
// the carrier's unless the service names it already ("USPS Ground
// Advantage", not "USPS USPS Ground Advantage"; "DHL Express Worldwide"
// from "DHL Express" and "Worldwide").
func (r Rate) Name() string {
	carrier, service := strings.TrimSpace(r.Carrier), strings.TrimSpace(r.Service)
	if carrier == "" || strings.HasPrefix(strings.ToLower(service), strings.ToLower(carrier)) {
		return service
	}
	return strings.TrimSpace(carrier + " " + service)
}

// Lines are the address as a label shows it, one line each, empty ones
// left out: name, company, street lines, "City, ST 12345", country.
func (a Address) Lines() []string {
	city := joinNonEmpty(", ", a.CityLocality, joinNonEmpty(" ", a.StateProvince, a.PostalCode))
	return nonEmpty(a.Name, a.CompanyName, a.AddressLine1, a.AddressLine2, a.AddressLine3, city, a.CountryCode)
}

// OneLine is the address on one line: its Lines joined by ", ", with no
// empty field leaving a stray separator ("500 CONGRESS AVE, AUSTIN", not
// "500 CONGRESS AVE , AUSTIN").
func (a Address) OneLine() string { return strings.Join(a.Lines(), ", ") }

func joinNonEmpty(sep string, parts ...string) string { return strings.Join(nonEmpty(parts...), sep) }

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
