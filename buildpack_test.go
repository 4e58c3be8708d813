package oms

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/buildpack"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const frameworkFunctions = "github.com/GoogleCloudPlatform/functions-framework-go/functions"

// TestBuildpackDeploysRoot does what Google's Go buildpack does with the
// repository as the function source: parse only the root's .go files (one
// package, not main, importing the framework's functions package), generate
// the declarative main in a separate folder, build it, and serve functions
// through it.
func TestBuildpackDeploysRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}

	// 1. Only the root's .go files, tests included, as the buildpack reads them.
	files, _ := filepath.Glob(filepath.Join(root, "*.go"))
	pkgs := map[string]bool{}
	importsFramework := false
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkgs[af.Name.Name] = true
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == frameworkFunctions && !strings.HasSuffix(f, "_test.go") {
				importsFramework = true
			}
		}
	}
	if len(pkgs) != 1 || pkgs["main"] {
		t.Fatalf("the root must hold exactly one package, not main; it holds %v", pkgs)
	}
	if !importsFramework {
		t.Fatalf("the root package must import %s for the declarative main", frameworkFunctions)
	}

	// 2. The generated main, in its own module that requires ours, built
	// the way this test binary was built, so that the packages already
	// compiled for the tests (with -race under make test) are reused from
	// the build cache instead of compiled again.
	bin, err := buildpack.Build(root, t.TempDir(), raceEnabled)
	if err != nil {
		t.Fatal(err)
	}

	// 3. Without FUNCTION_TARGET the framework serves every registered
	// function and names each: they must be exactly the list.
	served := serve(t, bin, nil, func(port int, out *bufio.Scanner) []string {
		var names []string
		for len(names) < len(functions.List) && out.Scan() {
			if name, ok := strings.CutPrefix(out.Text(), "Serving function: "); ok {
				names = append(names, strings.Trim(name, `"`))
			}
		}
		return names
	})
	var want []string
	for _, f := range functions.List {
		want = append(want, f.Name)
	}
	slices.Sort(served)
	slices.Sort(want)
	if !slices.Equal(served, want) {
		t.Errorf("registered %v, list %v", served, want)
	}

	// 4. With FUNCTION_TARGET, one callable at "/", working against the
	// emulators like a deployed instance against Firebase.
	env := testenv.Firestore(t)
	authHost := testenv.AuthHost(t)
	user, err := emulator.SignInAnonymously(context.Background(), authHost)
	if err != nil {
		t.Fatal(err)
	}
	vars := []string{"FUNCTION_TARGET=whoami", "OMS_ENV=development", "OMS_PROJECT_ID=" + testenv.Project,
		"FIRESTORE_EMULATOR_HOST=" + env.Firestore.Host, "FIREBASE_AUTH_EMULATOR_HOST=" + authHost}
	serve(t, bin, vars, func(port int, _ *bufio.Scanner) []string {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/", port), strings.NewReader(`{"data":{}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+user.IDToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Result storefront.WhoamiAnswer `json:"result"`
		}
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("whoami through the generated main: %d %s", resp.StatusCode, b)
		}
		if body.Result.UID != user.UID || !body.Result.Anonymous {
			t.Errorf("whoami answered %+v, want uid %s", body.Result, user.UID)
		}
		return nil
	})
}

// serve starts the built main on a free port, waits until it accepts
// connections, runs fn, and stops it.
func serve(t *testing.T, bin string, env []string, fn func(port int, out *bufio.Scanner) []string) []string {
	t.Helper()
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "PORT="+strconv.Itoa(port), "HOST=127.0.0.1")...)
	if len(env) == 0 {
		cmd.Env = append(cmd.Env, "FUNCTION_TARGET=")
	}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testenv.Poll(t, 20*time.Second, "the generated main to listen", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return fn(port, bufio.NewScanner(stdout))
}
