package shipping

import "regexp"

// What the printer (Lulu's Print API, reference/lulu.md) requires of a
// shipment: one place for the configuration's checks, the checkout's
// checks before payment, and the local printer's validation.
var (
	// PrinterPhone is the phone number the printer accepts.
	PrinterPhone = regexp.MustCompile(`^\+?[\d\s\-./()]{8,20}$`)
	// PrinterLevels are the printer's shipping levels.
	PrinterLevels = []string{"MAIL", "PRIORITY_MAIL", "GROUND_HD", "GROUND_BUS", "GROUND", "EXPEDITED", "EXPRESS"}
	// PrinterTaxIDCountries need the recipient's tax id, which the
	// checkout does not collect.
	PrinterTaxIDCountries = []string{"BR", "CL", "MX"}
)
