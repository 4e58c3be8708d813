package oms

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/readyplanner/oms/"

// firestoreSDK is the Firestore client: only the store speaks it.
const firestoreSDK = "cloud.google.com/go/firestore"

// firestoreExceptions are the packages under internal/ besides the store
// that import the Firestore client, and why. An exception that no longer
// imports it fails too, so that the list only shrinks.
var firestoreExceptions = map[string]string{
	"internal/app":     "the wiring: it makes the one client and hands it to the stores",
	"internal/testenv": "the tests' emulator: it hands tests a client to it",
	"internal/seed":    "the seed is handed the client (it writes through the stores)",
	"internal/usage":   "counts what a Firestore client is billed for, on its connection (benchmarks)",
	"internal/devhost": "the local system: its benchmarks hand the App a counted client and replay callables' Firestore calls",
}

// useCases are the use-case packages (README's layout); adapters are the
// packages that store or call outside. A use case declares ports and an
// adapter implements them: no use case imports an adapter (or a fake
// under one), in its non-test files.
var (
	useCases = []string{"checkout", "payments", "bookkeeping", "fulfilment", "messages", "owner", "orderflow", "sweep", "webhook"}
	adapters = []string{"firestoredb", "stripepay", "quickbooks", "shipengine", "lulu", "smtpmail", "alerthook", "docevent", "firebaseauth"}
)

// importViolation is a file's import that breaks a layering rule.
type importViolation struct {
	file, path, rule string
}

// layerViolations returns what the Go file at file (a slash path from the
// module's root) with source src imports against the rules.
func layerViolations(file string, src []byte) ([]importViolation, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	dir := filepath.ToSlash(filepath.Dir(file))
	test := strings.HasSuffix(file, "_test.go")
	var out []importViolation
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if (path == firestoreSDK || strings.HasPrefix(path, firestoreSDK+"/")) && strings.HasPrefix(dir, "internal/") &&
			!under(dir, "internal/firestoredb") && firestoreExceptions[dir] == "" {
			out = append(out, importViolation{file, path, "only internal/firestoredb speaks Firestore: go through a store"})
		}
		if test {
			continue
		}
		for _, uc := range useCases {
			if !under(dir, "internal/"+uc) {
				continue
			}
			for _, ad := range adapters {
				if under(strings.TrimPrefix(path, module), "internal/"+ad) && strings.HasPrefix(path, module) {
					out = append(out, importViolation{file, path, "a use case imports no adapter: declare a port in the use case, implement it in the adapter, wire it in internal/app"})
				}
			}
		}
	}
	return out, nil
}

// under reports whether the slash path dir is pkg or a package under it.
func under(dir, pkg string) bool { return dir == pkg || strings.HasPrefix(dir, pkg+"/") }

// The layers hold: only the store imports the Firestore client (issue
// 21, part 5), and no use case imports an adapter.
func TestLayersImports(t *testing.T) {
	sawFirestore := map[string]bool{}
	files := 0
	err := filepath.WalkDir("internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file := filepath.ToSlash(path)
		bad, err := layerViolations(file, src)
		if err != nil {
			return err
		}
		for _, v := range bad {
			t.Errorf("%s imports %s: %s", v.file, v.path, v.rule)
		}
		if strings.Contains(string(src), strconv.Quote(firestoreSDK)) {
			sawFirestore[filepath.ToSlash(filepath.Dir(path))] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 || !sawFirestore["internal/firestoredb"] {
		t.Fatalf("read %d files and did not see the store import Firestore: is the test in the module's root?", files)
	}
	for _, dir := range slices.Sorted(maps.Keys(firestoreExceptions)) {
		if !sawFirestore[dir] {
			t.Errorf("%s no longer imports %s: remove its exception", dir, firestoreSDK)
		}
	}
}

// The rule fails on what it forbids, and only on that.
func TestLayersImportsCatch(t *testing.T) {
	for _, tc := range []struct {
		file, imp string
		want      int
	}{
		{"internal/orderflow/dispatcher.go", module + "internal/docevent", 1},
		{"internal/payments/new.go", module + "internal/stripepay/stripefake", 1},
		{"internal/webhook/webhook.go", module + "internal/firestoredb", 1},
		{"internal/owner/x.go", firestoreSDK, 1},
		{"internal/checkout/x.go", firestoreSDK, 1},
		{"internal/newthing/x.go", firestoreSDK, 1},
		{"internal/catalog/x_test.go", firestoreSDK, 1},
		{"internal/bookkeeping/y.go", module + "internal/firestoredb", 1},
		{"internal/orderflow/dispatcher_test.go", module + "internal/firestoredb", 0}, // tests run against the emulator's store
		{"internal/firestoredb/x.go", firestoreSDK, 0},
		{"internal/app/app.go", module + "internal/stripepay", 0},
		{"internal/orderflow/x.go", module + "internal/order", 0},
		{"internal/payments/x.go", module + "internal/quickbooksish", 0},
		{"functions/x.go", firestoreSDK, 0},
	} {
		src := "package x\n\nimport _ " + strconv.Quote(tc.imp) + "\n"
		bad, err := layerViolations(tc.file, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) != tc.want {
			t.Errorf("%s importing %s: %d violations, want %d: %v", tc.file, tc.imp, len(bad), tc.want, bad)
		}
	}
}
