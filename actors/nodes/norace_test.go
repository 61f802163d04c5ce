//go:build !race

package nodes_test

const raceEnabled = false
