package functions

import (
	"context"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/storefront"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func names() []string {
	var out []string
	for _, f := range List {
		out = append(out, f.Name)
	}
	return out
}

func TestListIsWellFormed(t *testing.T) {
	ident := regexp.MustCompile(`^[a-z][A-Za-z0-9]{2,62}$`)
	seen := map[string]bool{}
	for _, f := range List {
		if !ident.MatchString(f.Name) || seen[f.Name] {
			t.Errorf("%q: names must be unique identifiers", f.Name)
		}
		seen[f.Name] = true
		if f.Doc == "" {
			t.Errorf("%s has no Doc", f.Name)
		}
		switch f.Kind {
		case Trigger:
			if f.event == nil || f.handler != nil || f.EventType == "" || f.Document == "" || f.Schedule != "" {
				t.Errorf("trigger %s: needs an event handler, event type and document pattern only", f.Name)
			}
		case Scheduled:
			if f.handler == nil || f.Schedule == "" || f.Document != "" {
				t.Errorf("scheduled %s: needs an HTTP handler and a schedule", f.Name)
			}
		case Callable, Webhook, Owner:
			if f.handler == nil || f.Schedule != "" || f.Document != "" {
				t.Errorf("%s %s: needs an HTTP handler only", f.Kind, f.Name)
			}
		default:
			t.Errorf("%s has unknown kind %q", f.Name, f.Kind)
		}
	}
}

// Registration through the framework's API registers exactly the list, each
// with the right kind of handler.
func TestRegisterMatchesList(t *testing.T) {
	var gotHTTP, gotEvent []string
	Register(Registrar{
		HTTP:       func(name string, _ func(http.ResponseWriter, *http.Request)) { gotHTTP = append(gotHTTP, name) },
		CloudEvent: func(name string, _ func(context.Context, cloudevents.Event) error) { gotEvent = append(gotEvent, name) },
	})
	var wantHTTP, wantEvent []string
	for _, f := range List {
		if f.Kind.HTTP() {
			wantHTTP = append(wantHTTP, f.Name)
		} else {
			wantEvent = append(wantEvent, f.Name)
		}
	}
	if !slices.Equal(gotHTTP, wantHTTP) || !slices.Equal(gotEvent, wantEvent) {
		t.Errorf("registered HTTP %v and events %v; list says %v and %v", gotHTTP, gotEvent, wantHTTP, wantEvent)
	}
}

// A deployed instance without a valid configuration answers INTERNAL (and
// logs why) instead of crashing or leaking the problem.
func TestMisconfiguredInstanceAnswersInternal(t *testing.T) {
	t.Setenv("OMS_PROJECT_ID", "")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "")
	t.Setenv("OMS_ENV", "production")
	handlers := map[string]func(http.ResponseWriter, *http.Request){}
	Register(Registrar{
		HTTP:       func(name string, fn func(http.ResponseWriter, *http.Request)) { handlers[name] = fn },
		CloudEvent: func(string, func(context.Context, cloudevents.Event) error) {},
	})
	w := httptest.NewRecorder()
	handlers["whoami"](w, httptest.NewRequest("POST", "/", strings.NewReader(`{"data":{}}`)))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"INTERNAL"`) || strings.Contains(w.Body.String(), "OMS_PROJECT_ID") {
		t.Errorf("%d %s", w.Code, w.Body.String())
	}
	if _, err := FromEnv(context.Background(), "nonexistent"); err == nil {
		t.Error("an unknown FUNCTION_TARGET must fail")
	}
}

func TestLookupAndSecrets(t *testing.T) {
	if _, ok := Lookup("whoami"); !ok {
		t.Error("whoami missing")
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("found a function that does not exist")
	}
	if len(names()) != len(List) {
		t.Error("names")
	}
	_ = AllSecrets()
}

// Every callable of the list is in the storefront's contract (and so in
// oms.d.ts and the error tables), and the contract has no other.
func TestCallablesAreTheContract(t *testing.T) {
	var listed, contract []string
	for _, f := range List {
		if f.Kind == Callable {
			listed = append(listed, f.Name)
		}
	}
	for _, c := range storefront.Calls {
		contract = append(contract, c.CallName())
	}
	slices.Sort(listed)
	slices.Sort(contract)
	if !slices.Equal(listed, contract) {
		t.Errorf("callables %v, contract %v", listed, contract)
	}
}

// The triggers on webhook records act on a record's creation only
// (newWebhookRecord); marking it processed must not wake them again, so
// they listen to creations only. A failed attempt is retried by the
// platform redelivering the same creation (--retry), and a lost one is
// covered by the sweeper's re-reads, never by rewriting the record.
func TestWebhookRecordTriggersListenToCreations(t *testing.T) {
	n := 0
	for _, f := range List {
		if f.Kind != Trigger || !strings.HasPrefix(f.Document, firestoredb.WebhookEventsCollection+"/") {
			continue
		}
		n++
		if f.EventType != docevent.TypeCreated {
			t.Errorf("%s listens to %s on %s, want %s", f.Name, f.EventType, f.Document, docevent.TypeCreated)
		}
	}
	if n != 3 {
		t.Errorf("%d triggers on webhook records, want 3 (QuickBooks, the printer, ShipEngine)", n)
	}
}
