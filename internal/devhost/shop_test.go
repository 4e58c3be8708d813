package devhost

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/testenv"
)

// The shop's import map names the Firebase SDK's gstatic address of the
// version package.json pins (its browser builds import each other by it):
// an upgrade that forgets the page fails here, not in a customer's browser.
func TestShopImportMapMatchesTheSDK(t *testing.T) {
	root, err := testenv.RepoFile(".")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "clients", "shop", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := `"https://www.gstatic.com/firebasejs/` + pkg.DevDependencies["firebase"] + `/firebase-app.js": "./sdk/firebase-app.js"`
	if !strings.Contains(string(page), want) {
		t.Errorf("clients/shop/index.html's import map lacks %s", want)
	}
	if strings.Contains(string(page), `src="http`) || strings.Contains(string(page), `href="http`) {
		t.Error("the shop loads something from another site")
	}
}

// The shop's files: the page, the compiled scripts, four SDK builds and its
// config; nothing else (no path out of its folders), read with GET only.
func TestShopServesOnlyItsFiles(t *testing.T) {
	// The compiled folder sits beside the repository's files, as a secret
	// would beside it: a path out of it must not reach them.
	base := t.TempDir()
	root, built := filepath.Join(base, "repo"), filepath.Join(base, "built")
	for name, body := range map[string]string{
		"clients/shop/index.html": "<!doctype html>", "clients/shop/shop.css": "body{}", "clients/shop/shop.ts": "secret source",
		"node_modules/firebase/firebase-app.js": "app", "node_modules/firebase/firebase-storage.js": "storage", "secret.txt": "secret",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "outside.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(built, "shop"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(built, "shop", "shop.js"), []byte("compiled"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/shop", &shop{root: root, built: built, config: []byte(`{"projectId":"demo-x"}`)}))
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
		body, ctype  string
	}{
		{"GET", "/shop/", 200, "<!doctype html>", "text/html"},
		{"GET", "/shop/shop.css", 200, "body{}", "text/css"},
		{"GET", "/shop/js/shop/shop.js", 200, "compiled", "text/javascript"},
		{"GET", "/shop/sdk/firebase-app.js", 200, "app", "text/javascript"},
		{"GET", "/shop/config.json", 200, `{"projectId":"demo-x"}`, "application/json"},
		{"GET", "/shop/sdk/firebase-storage.js", 404, "", ""},
		{"GET", "/shop/shop.ts", 404, "", ""},
		{"GET", "/shop/js/../repo/secret.txt", 404, "", ""},
		{"GET", "/shop/js/%2e%2e/repo/secret.txt", 404, "", ""},
		{"GET", "/shop/js/%2e%2e/outside.txt", 404, "", ""},
		{"GET", "/shop/js/..%2foutside.txt", 404, "", ""},
		{"GET", "/shop/js/..%2f..%2f..%2f..%2f..%2fetc/hostname", 404, "", ""},
		{"GET", "/shop/js/shop%2f..%2f..%2frepo%2fsecret.txt", 404, "", ""},
		{"GET", "/shop/js/shop", 404, "", ""},
		{"POST", "/shop/", 405, "", ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(raw)
		if resp.StatusCode != c.status || (c.status == 200 && (body != c.body || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype))) {
			t.Errorf("%s %s: %d %q (%s), want %d %q", c.method, c.path, resp.StatusCode, body, resp.Header.Get("Content-Type"), c.status, c.body)
		}
	}
}
