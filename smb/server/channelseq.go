package server

import "github.com/sofs-dev/sofs/smb/wire"

// Channel sequence numbers (MS-SMB2 3.3.5.2.10): a 3.x client bumps ChannelSequence when it
// fails over to another channel, so the server can refuse a write, set-info or ioctl still
// travelling on the old channel after newer ones were admitted (it would overwrite them).

// channelSequence is Open.ChannelSequence with Open.OutstandingRequestCount and
// Open.OutstandingPreRequestCount (MS-SMB2 3.3.1.10); the open's mu guards it.
type channelSequence struct {
	current             uint16
	outstanding, before int64 // admitted requests of the current / of earlier sequences
}

// admit applies 3.3.5.2.10 to a request carrying seq. It reports false for a stale request
// (older than current in 16-bit circular order), or a replay of the current sequence while
// requests of an earlier one are still outstanding; such requests change nothing.
func (cs *channelSequence) admit(seq uint16, replay bool) bool {
	switch {
	case seq == cs.current:
		if replay && cs.before != 0 {
			return false
		}
		cs.outstanding++
		return true
	case seq-cs.current <= 0x7FFF: // newer
		cs.before += cs.outstanding
		cs.outstanding = 1
		cs.current = seq
		return true
	}
	return false
}

// finish accounts for the completion of a request admitted with seq.
func (cs *channelSequence) finish(seq uint16) {
	switch {
	case seq == cs.current && cs.outstanding > 0:
		cs.outstanding--
	case cs.before > 0:
		cs.before--
	}
}

// refusesStale reports whether cmd fails when its channel sequence is stale; other commands
// are only counted (3.3.5.2.10).
func refusesStale(cmd wire.Command) bool {
	return cmd == wire.CmdWrite || cmd == wire.CmdSetInfo || cmd == wire.CmdIoctl
}

// admitChannelSequence checks r against the open it names, once per request, on 3.x
// connections. Called by lookupOpen.
func (r *request) admitChannelSequence(o *open) error {
	if r.csnOpen != nil || !r.c.neg.Load().di.kdf {
		return nil
	}
	seq := r.hdr.ChannelSequence()
	o.mu.Lock()
	ok := o.csn.admit(seq, r.isReplay())
	o.mu.Unlock()
	if ok {
		r.csnOpen = o
		return nil
	}
	if refusesStale(r.cmd) {
		return wire.StatusFileNotAvailable
	}
	return nil
}

// finishChannelSequence releases the request's count on its open when it completes.
func (r *request) finishChannelSequence() {
	o := r.csnOpen
	if o == nil {
		return
	}
	o.mu.Lock()
	o.csn.finish(r.hdr.ChannelSequence())
	o.mu.Unlock()
	r.csnOpen = nil
}

// isReplay reports whether a 3.x request carries SMB2_FLAGS_REPLAY_OPERATION: the client may
// have sent it before on a failed channel. CREATE with a durable v2 create GUID uses it to
// find the open the first attempt made (MS-SMB2 3.3.5.9.10); other commands only feed the
// channel sequence check.
func (r *request) isReplay() bool {
	return r.hdr.Flags()&wire.FlagReplayOperation != 0 && r.c.neg.Load().di.kdf
}
