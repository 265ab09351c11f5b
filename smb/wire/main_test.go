package wire

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises the number of rapid property checks from the default 100
// to 3000 when SOFS_LONG=1 (make fuzz / make bench); the default run stays
// within a few seconds. TestLongModeRecorded reads the variable again while
// tests run, so go test's result cache (which only sees environment reads
// made after m.Run starts) keys on it.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("SOFS_LONG") == "1" {
		if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
			_ = f.Value.Set("3000")
		}
	}
	os.Exit(m.Run())
}

func TestLongModeRecorded(t *testing.T) {
	if os.Getenv("SOFS_LONG") == "1" {
		t.Log("SOFS_LONG=1: 3000 rapid checks per property")
	}
}
