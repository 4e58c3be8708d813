package oms

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// README's layout names every package of the module (issue 21, part 9):
// a package added without a line there fails here.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(readme), "## Layout")
	if i < 0 {
		t.Fatal("README.md has no Layout section")
	}
	layout := string(readme[i:])
	seen := map[string]bool{}
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "testdata") {
				return err
			}
			dir := filepath.ToSlash(filepath.Dir(path))
			if !seen[dir] {
				seen[dir] = true
				if !strings.Contains(layout, dir) {
					t.Errorf("README.md's layout does not name %s", dir)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 40 {
		t.Errorf("only %d packages found: is the test in the module's root?", len(seen))
	}
}
