//go:build !race

package oms

const raceEnabled = false
