//go:build race

package nodes_test

// raceEnabled: the race detector slows JSON of tens of megabytes tenfold.
const raceEnabled = true
