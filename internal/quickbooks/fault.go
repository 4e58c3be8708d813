package quickbooks

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
)

// FaultError is one error of a QuickBooks Fault.
type FaultError struct {
	Code    string
	Message string
	Detail  string
	Element string
}

// Fault is a QuickBooks error answer, from any of its three shapes: the
// API's JSON ({"Fault":{"Error":[…],"type":…}}), the gateway's lower-case
// JSON on 401 ({"fault":{"error":[…],"type":"AUTHENTICATION"}}), and the
// XML a throttled request may get even when JSON was asked.
type Fault struct {
	Status int    // HTTP status (200 when a 2xx answer carried a Fault)
	Type   string // ValidationFault, SystemFault, AuthenticationFault, AUTHENTICATION, SERVICE, …
	Errors []FaultError
}

func (f *Fault) Error() string {
	var parts []string
	for _, e := range f.Errors {
		p := e.Code + " " + e.Message
		if e.Detail != "" {
			p += ": " + e.Detail
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("quickbooks: HTTP %d %s: %s", f.Status, f.Type, strings.Join(parts, "; "))
}

// Has reports whether the fault carries error code.
func (f *Fault) Has(code string) bool {
	for _, e := range f.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

type jsonFault struct {
	Error []struct {
		Message string `json:"Message"`
		Detail  string `json:"Detail"`
		Code    string `json:"code"`
		Element string `json:"element"`
	} `json:"Error"`
	Type string `json:"type"`
}

type gatewayFault struct {
	Error []struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
		Code    string `json:"code"`
	} `json:"error"`
	Type string `json:"type"`
}

type xmlFault struct {
	Fault struct {
		Type  string `xml:"type,attr"`
		Error []struct {
			Code    string `xml:"code,attr"`
			Message string `xml:"Message"`
			Detail  string `xml:"Detail"`
		} `xml:"Error"`
	} `xml:"Fault"`
}

// parseFault finds a Fault in an answer body, in any of the three shapes;
// nil when there is none.
func parseFault(status int, body []byte) *Fault {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "<") {
		var x xmlFault
		if xml.Unmarshal(body, &x) == nil && len(x.Fault.Error) > 0 {
			f := &Fault{Status: status, Type: x.Fault.Type}
			for _, e := range x.Fault.Error {
				f.Errors = append(f.Errors, FaultError{Code: e.Code, Message: e.Message, Detail: e.Detail})
			}
			return f
		}
		return nil
	}
	var env struct {
		Upper *jsonFault    `json:"Fault"`
		Lower *gatewayFault `json:"fault"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	switch {
	case env.Upper != nil && len(env.Upper.Error) > 0:
		f := &Fault{Status: status, Type: env.Upper.Type}
		for _, e := range env.Upper.Error {
			f.Errors = append(f.Errors, FaultError{Code: e.Code, Message: e.Message, Detail: e.Detail, Element: e.Element})
		}
		return f
	case env.Lower != nil && len(env.Lower.Error) > 0:
		f := &Fault{Status: status, Type: env.Lower.Type}
		for _, e := range env.Lower.Error {
			f.Errors = append(f.Errors, FaultError{Code: e.Code, Message: e.Message, Detail: e.Detail})
		}
		return f
	}
	return nil
}
