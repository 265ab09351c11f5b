package dnsreg

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: watchers, resource
// loops and servers must all stop when asked.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
