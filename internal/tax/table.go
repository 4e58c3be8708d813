package tax

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sourcing says whose address an in-state sale is taxed by.
type Sourcing string

// Destination-based states tax a sale where it ships to; origin-based
// ones tax a sale within the state where it ships from (a sale to another
// state is taxed by its destination either way).
const (
	Destination Sourcing = "destination"
	Origin      Sourcing = "origin"
)

// Rule is one rate of the store's table: where it applies (a country, and
// optionally a state and postal-code prefixes), its rate, whether
// shipping is taxed, and the name the customer and the books read.
type Rule struct {
	Country        string
	State          string
	PostalPrefixes []string
	Rate           int64 // parts per million
	Shipping       bool
	Name           string
}

// Table is the store's own rate table: for a store that wants no tax
// provider. Its figures are the store's own responsibility (issue 24: the
// configuration that reads it comes with the order flow's tax).
type Table struct {
	Sourcing Sourcing
	Rules    []Rule
}

// MaxRate is the highest rate a rule may have (25%), a guard against a
// rate typed as a fraction of one hundred twice.
const MaxRate = 250_000

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	stateRE   = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
	postalRE  = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)
	rateRE    = regexp.MustCompile(`^(\d{1,2})(?:\.(\d{1,4}))?$`)
)

// tableJSON is the table's file.
type tableJSON struct {
	Sourcing string `json:"sourcing"`
	Rules    []struct {
		Country        string   `json:"country"`
		State          string   `json:"state"`
		PostalPrefixes []string `json:"postalPrefixes"`
		Rate           string   `json:"rate"`
		Shipping       bool     `json:"shipping"`
		Name           string   `json:"name"`
	} `json:"rules"`
}

// ParseTable reads a rate table from JSON:
//
//	{"sourcing": "destination",
//	 "rules": [{"country": "US", "state": "TX", "rate": "6.25", "shipping": true, "name": "Texas"},
//	           {"country": "US", "state": "TX", "postalPrefixes": ["787"], "rate": "8.25", "shipping": true, "name": "Austin, TX"}]}
//
// Rates are percents with at most four decimals. Every problem is named
// by its place (rules[1].rate), all of them at once.
func ParseTable(raw []byte) (Table, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in tableJSON
	if err := dec.Decode(&in); err != nil {
		return Table{}, fmt.Errorf("the tax table is not its JSON: %w", err)
	}
	t := Table{Sourcing: Sourcing(strings.ToLower(strings.TrimSpace(in.Sourcing)))}
	if t.Sourcing == "" {
		t.Sourcing = Destination
	}
	var errs []error
	unread := map[int]bool{} // rules whose rate could not be read: said once
	for i, r := range in.Rules {
		rate, err := parseRate(r.Rate)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules[%d].rate: %w", i, err))
			unread[i] = true
		}
		rule := Rule{Country: strings.ToUpper(strings.TrimSpace(r.Country)), State: strings.ToUpper(strings.TrimSpace(r.State)),
			Rate: rate, Shipping: r.Shipping, Name: strings.TrimSpace(r.Name)}
		for _, p := range r.PostalPrefixes {
			rule.PostalPrefixes = append(rule.PostalPrefixes, normalPostal(p))
		}
		t.Rules = append(t.Rules, rule)
	}
	if err := errors.Join(append(errs, t.validate(unread))...); err != nil {
		return Table{}, err
	}
	return t, nil
}

// parseRate reads a percent ("8.25") as parts per million.
func parseRate(s string) (int64, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a percent like 8.25 (at most four decimals)", s)
	}
	whole, _ := strconv.ParseInt(m[1], 10, 64)               // one or two digits: always parses
	frac, _ := strconv.ParseInt((m[2] + "0000")[:4], 10, 64) // four digits: always parses
	return whole*10_000 + frac, nil
}

// normalPostal is a postal code as rules match it: upper case, no spaces
// or dashes ("787 01" and "78701-1234" start alike).
func normalPostal(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// Validate checks the table: the sourcing, each rule's place, rate and
// name, and that no two rules cover the same place.
func (t Table) Validate() error { return t.validate(nil) }

// validate is Validate, leaving out the rate of the rules in unread (their
// rate could not be read, and was said so).
func (t Table) validate(unread map[int]bool) error {
	var errs []error
	if t.Sourcing != Destination && t.Sourcing != Origin {
		errs = append(errs, fmt.Errorf("sourcing: %q is neither destination nor origin", t.Sourcing))
	}
	seen := map[string]int{}
	for i, r := range t.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		if !countryRE.MatchString(r.Country) {
			errs = append(errs, fmt.Errorf("%s.country: %q is not a two-letter country code", at, r.Country))
		}
		if r.State != "" && !stateRE.MatchString(r.State) {
			errs = append(errs, fmt.Errorf("%s.state: %q is not a state code (TX, CA)", at, r.State))
		}
		for j, p := range r.PostalPrefixes {
			if !postalRE.MatchString(p) {
				errs = append(errs, fmt.Errorf("%s.postalPrefixes[%d]: %q is not the start of a postal code", at, j, p))
			}
		}
		if (r.Rate <= 0 || r.Rate > MaxRate) && !unread[i] {
			errs = append(errs, fmt.Errorf("%s.rate: %d.%04d%% is not above 0 and at most 25%%", at, r.Rate/10_000, r.Rate%10_000))
		}
		if r.Name == "" || len(r.Name) > 100 {
			errs = append(errs, fmt.Errorf("%s.name: a name of 1–100 characters is needed (the customer and the books read it)", at))
		}
		places := r.PostalPrefixes
		if len(places) == 0 {
			places = []string{""}
		}
		for _, p := range places {
			key := r.Country + "/" + r.State + "/" + p
			if j, dup := seen[key]; dup {
				errs = append(errs, fmt.Errorf("%s covers what rules[%d] covers (%s)", at, j, strings.TrimSuffix(key, "/")))
			}
			seen[key] = i
		}
	}
	return errors.Join(errs...)
}

// Rule answers the rule that taxes a sale shipped from origin to dest: the
// most specific rule of the place (the longest matching postal prefix,
// then the state's, then the country's); with origin sourcing a sale
// within the origin's state is taxed by the origin. False: no rule, no
// tax due there.
func (t Table) Rule(dest, origin Address) (Rule, bool) {
	at := dest
	if t.Sourcing == Origin && strings.EqualFold(dest.Country, origin.Country) && strings.EqualFold(dest.State, origin.State) {
		at = origin
	}
	country, state, postal := strings.ToUpper(at.Country), strings.ToUpper(strings.TrimSpace(at.State)), normalPostal(at.PostalCode)
	best, bestScore := Rule{}, -1
	for _, r := range t.Rules {
		if r.Country != country || (r.State != "" && r.State != state) {
			continue
		}
		score := 0
		if r.State != "" {
			score = 1
		}
		if len(r.PostalPrefixes) > 0 {
			longest := 0
			for _, p := range r.PostalPrefixes {
				if strings.HasPrefix(postal, p) {
					longest = max(longest, len(p))
				}
			}
			if longest == 0 {
				continue
			}
			score += 2 + 2*longest // a longer prefix wins; at the same length, the rule that names the state
		}
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	return best, bestScore >= 0
}

// Compute is the tax of a sale by the table: lines' taxable amounts (after
// discounts) and shipping (after its discount), shipped from origin to dest.
func (t Table) Compute(lines []int64, shipping int64, dest, origin Address) Figures {
	r, ok := t.Rule(dest, origin)
	if !ok {
		return Figures{Lines: make([]int64, len(lines))}
	}
	f := Apply(r.Rate, lines, shipping, r.Shipping)
	f.Jurisdiction = r.Name
	return f
}

// Local reports that the table needs no outside call: the checkout works
// its figures out inside the transaction that changes the order.
func (Table) Local() bool { return true }

// Calculate is the table's answer for a sale, as a provider's: figures
// with no calculation id (nothing to record at a provider once paid).
func (t Table) Calculate(_ context.Context, s Sale, _ string) (Calculation, error) {
	lines := make([]int64, len(s.Lines))
	for i, l := range s.Lines {
		lines[i] = l.Amount
	}
	return Calculation{Figures: t.Compute(lines, s.Shipping, s.To, s.From)}, nil
}
