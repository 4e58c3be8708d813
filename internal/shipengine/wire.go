package shipengine

import (
	"encoding/json"
	"strings"

	"github.com/readyplanner/oms/internal/shipping"
)

// The wire shapes of ShipEngine API v1 (reference/shipengine.md). The fake
// server in this package's shipenginefake uses the same types.

// WireAddress is ShipEngine's address. Missing fields come back as null
// (decoded as ""); optional fields are left out of requests when empty —
// the spec gives them minLength 1, so "" is not a value.
type WireAddress struct {
	Name                        string `json:"name"`
	Phone                       string `json:"phone,omitempty"`
	CompanyName                 string `json:"company_name,omitempty"`
	AddressLine1                string `json:"address_line1"`
	AddressLine2                string `json:"address_line2,omitempty"`
	AddressLine3                string `json:"address_line3,omitempty"`
	CityLocality                string `json:"city_locality"`
	StateProvince               string `json:"state_province"`
	PostalCode                  string `json:"postal_code"`
	CountryCode                 string `json:"country_code"`
	AddressResidentialIndicator string `json:"address_residential_indicator"`
}

// ToWire converts an address to ShipEngine's shape.
func ToWire(a shipping.Address) WireAddress {
	r := a.Residential
	if r == "" {
		r = "unknown"
	}
	return WireAddress{Name: a.Name, Phone: a.Phone, CompanyName: a.CompanyName, AddressLine1: a.AddressLine1, AddressLine2: a.AddressLine2,
		AddressLine3: a.AddressLine3, CityLocality: a.CityLocality, StateProvince: a.StateProvince, PostalCode: a.PostalCode,
		CountryCode: strings.ToUpper(a.CountryCode), AddressResidentialIndicator: r}
}

// FromWire converts ShipEngine's address to ours.
func FromWire(w WireAddress) shipping.Address {
	return shipping.Address{Name: w.Name, Phone: w.Phone, CompanyName: w.CompanyName, AddressLine1: w.AddressLine1, AddressLine2: w.AddressLine2,
		AddressLine3: w.AddressLine3, CityLocality: w.CityLocality, StateProvince: w.StateProvince, PostalCode: w.PostalCode,
		CountryCode: w.CountryCode, Residential: w.AddressResidentialIndicator}
}

// Message is a validation message.
type Message struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Type       string `json:"type"` // error, warning, info
	DetailCode string `json:"detail_code"`
}

// ValidationResult is one entry of POST /v1/addresses/validate's answer.
type ValidationResult struct {
	Status          string       `json:"status"`
	OriginalAddress WireAddress  `json:"original_address"`
	MatchedAddress  *WireAddress `json:"matched_address"`
	Messages        []Message    `json:"messages"`
}

// Weight and Dimensions of a package.
type Weight struct {
	Value json.Number `json:"value"`
	Unit  string      `json:"unit"` // pound, ounce, gram, kilogram
}

// Dimensions of a package.
type Dimensions struct {
	Unit   string      `json:"unit"` // inch, centimeter
	Length json.Number `json:"length"`
	Width  json.Number `json:"width"`
	Height json.Number `json:"height"`
}

// WirePackage is one package of a shipment.
type WirePackage struct {
	Weight     Weight      `json:"weight"`
	Dimensions *Dimensions `json:"dimensions,omitempty"`
}

// Shipment is the shipment of POST /v1/rates.
type Shipment struct {
	ExternalShipmentID string        `json:"external_shipment_id,omitempty"` // ours, max 50 characters
	ShipTo             WireAddress   `json:"ship_to"`
	ShipFrom           WireAddress   `json:"ship_from"`
	Packages           []WirePackage `json:"packages"`
	ValidateAddress    string        `json:"validate_address,omitempty"`
	ShipDate           string        `json:"ship_date,omitempty"`
}

// RateOptions of POST /v1/rates; CarrierIDs is required.
type RateOptions struct {
	CarrierIDs   []string `json:"carrier_ids"`
	ServiceCodes []string `json:"service_codes,omitempty"`
}

// RatesRequest is POST /v1/rates's body.
type RatesRequest struct {
	Shipment    Shipment    `json:"shipment"`
	RateOptions RateOptions `json:"rate_options"`
}

// Amount is a decimal amount with a lower-case currency.
type Amount struct {
	Currency string      `json:"currency"`
	Amount   json.Number `json:"amount"`
}

// WireRate is one rate.
type WireRate struct {
	RateID                string   `json:"rate_id,omitempty"`
	RateType              string   `json:"rate_type"`
	CarrierID             string   `json:"carrier_id"`
	CarrierCode           string   `json:"carrier_code"`
	CarrierFriendlyName   string   `json:"carrier_friendly_name"`
	ServiceType           string   `json:"service_type"`
	ServiceCode           string   `json:"service_code"`
	PackageType           string   `json:"package_type"`
	ShippingAmount        Amount   `json:"shipping_amount"`
	InsuranceAmount       Amount   `json:"insurance_amount"`
	ConfirmationAmount    Amount   `json:"confirmation_amount"`
	OtherAmount           Amount   `json:"other_amount"`
	TaxAmount             *Amount  `json:"tax_amount"`
	Zone                  *int64   `json:"zone"`
	DeliveryDays          *int64   `json:"delivery_days"`
	EstimatedDeliveryDate string   `json:"estimated_delivery_date"` // RFC 3339, or a bare date
	CarrierDeliveryDays   string   `json:"carrier_delivery_days"`
	CarrierNickname       string   `json:"carrier_nickname"`
	NegotiatedRate        bool     `json:"negotiated_rate"`
	GuaranteedService     bool     `json:"guaranteed_service"`
	Trackable             bool     `json:"trackable"`
	ValidationStatus      string   `json:"validation_status"`
	WarningMessages       []string `json:"warning_messages"`
	ErrorMessages         []string `json:"error_messages"`
}

// RateResponse is the rate_response of POST /v1/rates.
type RateResponse struct {
	Rates         []WireRate  `json:"rates"`
	InvalidRates  []WireRate  `json:"invalid_rates"`
	RateRequestID string      `json:"rate_request_id"`
	ShipmentID    string      `json:"shipment_id"`
	CreatedAt     string      `json:"created_at"`
	Status        string      `json:"status"` // working, completed, partial, error
	Errors        []ErrorItem `json:"errors"`
}

// RatesAnswer is POST /v1/rates's answer: the shipment plus rate_response.
type RatesAnswer struct {
	Shipment
	RateResponse RateResponse `json:"rate_response"`
}

// EstimateRequest is POST /v1/rates/estimate's body (ship_date is
// required).
type EstimateRequest struct {
	CarrierIDs        []string    `json:"carrier_ids,omitempty"`
	CarrierID         string      `json:"carrier_id,omitempty"`
	FromCountryCode   string      `json:"from_country_code"`
	FromPostalCode    string      `json:"from_postal_code"`
	FromCityLocality  string      `json:"from_city_locality"`
	FromStateProvince string      `json:"from_state_province"`
	ToCountryCode     string      `json:"to_country_code"`
	ToPostalCode      string      `json:"to_postal_code"`
	ToCityLocality    string      `json:"to_city_locality"`
	ToStateProvince   string      `json:"to_state_province"`
	Weight            Weight      `json:"weight"`
	Dimensions        *Dimensions `json:"dimensions,omitempty"`
	ResidentialInd    string      `json:"address_residential_indicator,omitempty"`
	ShipDate          string      `json:"ship_date"`
}

// ErrorItem is one entry of an error body's errors.
type ErrorItem struct {
	ErrorSource string `json:"error_source"`
	ErrorType   string `json:"error_type"`
	ErrorCode   string `json:"error_code"`
	Message     string `json:"message"`
}

// ErrorBody is ShipEngine's error body.
type ErrorBody struct {
	RequestID string      `json:"request_id"`
	Errors    []ErrorItem `json:"errors"`
}
