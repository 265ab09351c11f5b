package server

import (
	"testing"

	"pgregory.net/rapid"
)

// TestChannelSequenceTable replays smbtorture smb2.replay.channel-sequence's table (Windows'
// answers) against an open created with sequence 0; replayed or not, the verdicts match.
func TestChannelSequenceTable(t *testing.T) {
	steps := []struct {
		seq uint16
		ok  bool
	}{
		{0, true}, {0x8000, false}, {0x8001, false}, {0xC123, false}, {0xffff, false},
		{0x7fff, true}, {0x7ffe, false}, {0, false}, {0x1234, false}, {0x8000, true},
		{0xffff, true}, {0, true}, {1, true}, {0, false}, {1, true}, {0xffff, false},
	}
	for _, replay := range []bool{false, true} {
		var cs channelSequence
		for i, st := range steps {
			got := cs.admit(st.seq, replay)
			if got != st.ok {
				t.Fatalf("replay=%v step %d: admit(%#04x) = %v, want %v (current %#04x)", replay, i, st.seq, got, st.ok, cs.current)
			}
			if got {
				cs.finish(st.seq)
			}
		}
		if cs.outstanding != 0 || cs.before != 0 {
			t.Errorf("replay=%v: counts %d/%d after every request finished", replay, cs.outstanding, cs.before)
		}
	}
}

// A replay of the current sequence waits out requests still in flight from an earlier one.
func TestChannelSequenceReplayWhileOldOutstanding(t *testing.T) {
	var cs channelSequence
	if !cs.admit(0, false) { // an old-channel write, still in flight
		t.Fatal("first request refused")
	}
	if !cs.admit(1, false) { // the client failed over
		t.Fatal("newer sequence refused")
	}
	if cs.admit(1, true) {
		t.Fatal("replay admitted while a request of the earlier sequence is outstanding")
	}
	cs.finish(0)
	if !cs.admit(1, true) {
		t.Fatal("replay refused after the old request finished")
	}
}

// Counts never go negative and drain to zero whatever the order of admissions and completions.
func TestChannelSequenceCountsDrain(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var cs channelSequence
		var inflight []uint16
		for range rapid.IntRange(1, 60).Draw(t, "ops") {
			if len(inflight) > 0 && rapid.Bool().Draw(t, "finish") {
				i := rapid.IntRange(0, len(inflight)-1).Draw(t, "which")
				cs.finish(inflight[i])
				inflight = append(inflight[:i], inflight[i+1:]...)
			} else {
				seq := cs.current + uint16(rapid.IntRange(-3, 3).Draw(t, "step"))
				if cs.admit(seq, rapid.Bool().Draw(t, "replay")) {
					inflight = append(inflight, seq)
				}
			}
			if cs.outstanding < 0 || cs.before < 0 || cs.outstanding+cs.before != int64(len(inflight)) {
				t.Fatalf("counts %d+%d, %d in flight", cs.outstanding, cs.before, len(inflight))
			}
		}
	})
}
