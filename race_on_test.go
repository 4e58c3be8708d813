//go:build race

package oms

// raceEnabled: this test binary was built with -race, so the binary the
// buildpack test builds is too, and reuses the packages already compiled.
const raceEnabled = true
