// Command gen-ts writes clients/ts/oms.d.ts, the TypeScript declarations of
// the storefront's contract, from the Go types (internal/storefront/tsgen).
// Run it from the module's root: go run ./cmd/gen-ts
package main

import (
	"fmt"
	"os"

	"github.com/readyplanner/oms/internal/storefront/tsgen"
)

func main() {
	b, err := tsgen.Generate(".")
	if err == nil {
		err = os.WriteFile(tsgen.Path, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-ts:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", tsgen.Path)
}
