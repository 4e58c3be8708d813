package devhost

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The demo shop (clients/shop): a static page that uses the Firebase JS
// SDK's browser build and the typed wrapper in clients/ts exactly as a
// storefront does. The host compiles its TypeScript with the pinned tsc and
// serves, under /shop/:
//
//	/shop/             clients/shop's static files (index.html, shop.css)
//	/shop/js/...       the compiled scripts (shop/*.js, ts/callables.js)
//	/shop/sdk/NAME.js  node_modules/firebase's browser builds (app, auth,
//	                   firestore, functions): no CDN
//	/shop/config.json  the project and where the emulators are
type shop struct {
	root, built string
	config      []byte
}

// shopSDK are the Firebase SDK's browser builds the shop imports.
var shopSDK = map[string]bool{"firebase-app.js": true, "firebase-auth.js": true, "firebase-firestore.js": true, "firebase-functions.js": true}

// newShop compiles the shop under root (the repository: clients/shop and
// node_modules) into a temporary folder, removed by the returned stop.
func newShop(ctx context.Context, root string, h *Host) (*shop, func() error, error) {
	tsc := filepath.Join(root, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		return nil, nil, fmt.Errorf("the demo shop needs the npm packages (npm ci, or make setup): %w", err)
	}
	built, err := os.MkdirTemp("", "oms-shop-")
	if err != nil {
		return nil, nil, err
	}
	stop := func() error { return os.RemoveAll(built) }
	cmd := exec.CommandContext(ctx, tsc, "-p", filepath.Join(root, "clients", "shop"), "--outDir", built)
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = stop()
		return nil, nil, fmt.Errorf("compile the demo shop (tsc -p clients/shop): %w\n%s", err, out)
	}
	fs, auth := splitHost(h.Firestore.Host), splitHost(h.AuthHost)
	config, err := json.Marshal(map[string]any{
		"projectId": h.Project, "region": h.Region, "apiKey": "demo-api-key",
		"emulators": map[string]any{"auth": "http://" + net.JoinHostPort(auth[0], auth[1]), "firestore": map[string]string{"host": fs[0], "port": fs[1]}},
	})
	if err != nil {
		_ = stop()
		return nil, nil, err
	}
	return &shop{root: root, built: built, config: config}, stop, nil
}

func splitHost(hostport string) [2]string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return [2]string{hostport, ""}
	}
	return [2]string{host, port}
}

// ServeHTTP serves the paths under /shop/ (with the prefix stripped).
func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the demo shop's files are read with GET", http.StatusMethodNotAllowed)
		return
	}
	// Every answer is read fresh: the shop is edited while make dev runs.
	w.Header().Set("Cache-Control", "no-cache")
	p := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case p == "config.json":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.config)
	case strings.HasPrefix(p, "sdk/"):
		name := strings.TrimPrefix(p, "sdk/")
		if !shopSDK[name] {
			http.NotFound(w, r)
			return
		}
		serveFile(w, r, filepath.Join(s.root, "node_modules", "firebase"), name)
	case strings.HasPrefix(p, "js/"):
		serveFile(w, r, s.built, strings.TrimPrefix(p, "js/"))
	case p == "" || p == "index.html":
		serveFile(w, r, filepath.Join(s.root, "clients", "shop"), "index.html")
	case p == "shop.css":
		serveFile(w, r, filepath.Join(s.root, "clients", "shop"), "shop.css")
	default:
		http.NotFound(w, r)
	}
}

// serveFile serves the file rel under dir, opened through an os.Root:
// a path that leads out of dir (.., an encoded ..%2f, a symbolic link
// pointing out) is not found.
func serveFile(w http.ResponseWriter, r *http.Request, dir, rel string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(rel, ".js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	http.ServeContent(w, r, filepath.Base(rel), st.ModTime(), f)
}
