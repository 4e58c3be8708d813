// Package buildpack builds the deployed binary the way Google's Go buildpack
// does: the main it generates around the function package (the repository
// root, which imports the Functions Framework's functions package), in a
// module of its own that requires ours. The buildpack test and the cold
// start benchmark both run what it builds.
package buildpack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Main is the declarative main the buildpack generates: it serves every
// function the root registered (or only FUNCTION_TARGET's) on HOST:PORT.
const Main = `package main

import (
	"log"
	"os"

	_ "github.com/readyplanner/oms"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	port := "8080"
	if p := os.Getenv("PORT"); p != "" {
		port = p
	}
	hostname := ""
	if h := os.Getenv("HOST"); h != "" {
		hostname = h
	}
	if err := funcframework.StartHostPort(hostname, port); err != nil {
		log.Fatalf("funcframework.StartHostPort: %v\n", err)
	}
}
`

// Build writes the generated main into dir (a module requiring the one at
// root, with root's go.sum) and builds it there, with the race detector if
// race is set (so that a test binary built with -race reuses its packages
// from the build cache). It returns the binary's path.
func Build(root, dir string, race bool) (string, error) {
	goVersion, err := run(root, nil, "go", "list", "-m", "-f", "{{.GoVersion}}")
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("buildpack: %w", err)
	}
	files := map[string]string{
		"main.go": Main,
		"go.mod": fmt.Sprintf("module functions.local/app\n\ngo %s\n\nrequire github.com/readyplanner/oms v0.0.0\n\nreplace github.com/readyplanner/oms => %s\n",
			strings.TrimSpace(goVersion), root),
		"go.sum": string(sum),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return "", fmt.Errorf("buildpack: %w", err)
		}
	}
	bin := filepath.Join(dir, "main")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if _, err := run(dir, []string{"GOFLAGS=-mod=mod", "GOWORK=off"}, "go", append(args, ".")...); err != nil {
		return "", err
	}
	return bin, nil
}

func run(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("buildpack: %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
