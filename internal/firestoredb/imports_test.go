package firestoredb

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// outsideClients are the packages that call an outside service: the store
// loads and saves and never calls out (the use cases do, through their
// ports), so no file here may import one — or its subpackages (fakes
// included), tests too.
var outsideClients = []string{
	"github.com/readyplanner/oms/internal/quickbooks",
	"github.com/readyplanner/oms/internal/stripepay",
	"github.com/readyplanner/oms/internal/lulu",
	"github.com/readyplanner/oms/internal/shipengine",
	"github.com/readyplanner/oms/internal/smtpmail",
	"github.com/readyplanner/oms/internal/alerthook",
	"github.com/readyplanner/oms/internal/localfakes",
	"github.com/stripe/stripe-go",
	"github.com/wneessen/go-mail",
	"firebase.google.com/go",
}

// outsideImports returns the outside clients src imports.
func outsideImports(t testing.TB, name string, src []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	var bad []string
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, c := range outsideClients {
			if path == c || strings.HasPrefix(path, c+"/") {
				bad = append(bad, path)
			}
		}
	}
	return bad
}

func TestStoreImportsNoOutsideClient(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files: %v", err)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if bad := outsideImports(t, name, src); len(bad) > 0 {
			t.Errorf("%s imports %v: the store loads and saves; the use case calls outside (through its ports)", name, bad)
		}
	}
}

// The guard fails on what it guards against.
func TestStoreImportGuardCatches(t *testing.T) {
	for _, imp := range []string{
		"github.com/readyplanner/oms/internal/quickbooks",
		"github.com/readyplanner/oms/internal/quickbooks/qbfake",
		"github.com/readyplanner/oms/internal/stripepay",
		"github.com/readyplanner/oms/internal/lulu",
		"github.com/readyplanner/oms/internal/shipengine",
		"github.com/stripe/stripe-go/v76",
	} {
		src := "package firestoredb\n\nimport x " + strconv.Quote(imp) + "\n"
		if bad := outsideImports(t, "counterexample.go", []byte(src)); len(bad) != 1 {
			t.Errorf("import %s not caught", imp)
		}
	}
	for _, imp := range []string{"github.com/readyplanner/oms/internal/bookkeeping", "github.com/readyplanner/oms/internal/quickbooksish"} {
		src := "package firestoredb\n\nimport x " + strconv.Quote(imp) + "\n"
		if bad := outsideImports(t, "fine.go", []byte(src)); len(bad) != 0 {
			t.Errorf("import %s caught: %v", imp, bad)
		}
	}
}
