package functions

import (
	"context"
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

// Every function is deployed exactly once, as its kind requires, and every
// deploy command names a function of the list.
func TestDeployCommandsMatchList(t *testing.T) {
	cmds := DeployCommands(DeployOptions{Project: "shop-prod", Region: "europe-west1", TriggerLocation: "eur3", SchedulerAccount: "sched@shop-prod.iam.gserviceaccount.com"})
	deployed := map[string][]string{}
	scheduled := map[string][]string{}
	for _, c := range cmds {
		line := strings.Join(c, " ")
		switch {
		case strings.HasPrefix(line, "gcloud functions deploy "):
			name := c[3]
			if _, dup := deployed[name]; dup {
				t.Errorf("%s deployed twice", name)
			}
			deployed[name] = c
		case strings.HasPrefix(line, "gcloud scheduler jobs create http "):
			scheduled[c[5]] = c
		default:
			t.Errorf("unexpected command %s", line)
		}
	}
	for name := range deployed {
		if _, ok := Lookup(name); !ok {
			t.Errorf("deployed %s is not in the list", name)
		}
	}
	for _, f := range List {
		c, ok := deployed[f.Name]
		if !ok {
			t.Errorf("%s is never deployed", f.Name)
			continue
		}
		has := func(flag string) bool { return slices.Contains(c, flag) }
		for _, flag := range []string{"--gen2", "--entry-point=" + f.Name, "--runtime=go126", "--region=europe-west1", "--source=."} {
			if !has(flag) {
				t.Errorf("%s: missing %s", f.Name, flag)
			}
		}
		switch f.Kind {
		case Callable, Webhook, Owner:
			if !has("--trigger-http") || !has("--allow-unauthenticated") {
				t.Errorf("%s: %v", f.Name, c)
			}
		case Scheduled:
			if !has("--no-allow-unauthenticated") {
				t.Errorf("%s must not be public: %v", f.Name, c)
			}
			job, ok := scheduled[f.Name]
			if !ok || !slices.Contains(job, "--schedule="+f.Schedule) || !slices.Contains(job, "--uri=https://europe-west1-shop-prod.cloudfunctions.net/"+f.Name) {
				t.Errorf("%s: scheduler job %v", f.Name, job)
			}
		case Trigger:
			for _, flag := range []string{"--trigger-event-filters=type=" + f.EventType, "--trigger-event-filters-path-pattern=document=" + f.Document, "--trigger-location=eur3", "--retry"} {
				if !has(flag) {
					t.Errorf("%s: missing %s", f.Name, flag)
				}
			}
		}
		if len(f.Secrets) > 0 && !slices.ContainsFunc(c, func(s string) bool { return strings.HasPrefix(s, "--set-secrets=") }) {
			t.Errorf("%s needs secrets but its deploy sets none", f.Name)
		}
	}
	if len(scheduled) == 0 {
		t.Error("no scheduler jobs")
	}
	if got := ShellQuote([]string{"gcloud", "--x=a b", "it's"}); got != `gcloud '--x=a b' 'it'\''s'` {
		t.Errorf("ShellQuote = %s", got)
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
