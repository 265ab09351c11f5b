package server

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A break notification that the client's TCP stack never acknowledges means the path to the
// client is dead (cable pulled, host hung, a firewall dropping its packets). Waiting out the
// 35 s break timeout would hold every other open of the file back that long, so the connection
// is dropped instead once the bytes up to the notification stay unacknowledged for a few
// retransmission timeouts: its non-durable opens close, durable ones are kept for a reconnect,
// and the waiting open proceeds. Samba does the same (its "ack checker"); smbtorture
// smb2.oplock.batch22b blocks the holder's connection with iptables and expects the second
// open to get a batch oplock before the break timeout.
//
// Only single-channel sessions are watched: on a multichannel session a silent channel is left
// to the session's other channels, which keep its opens (channel.go).

const (
	ackMinTimeout = 3 * time.Second
	ackMaxTimeout = 30 * time.Second
	ackRTOs       = 8 // retransmission timeouts a notification may stay unacknowledged
)

// ackTarget returns the count of bytes the peer must have acknowledged for everything written
// to the socket so far to have arrived, and the connection's retransmission timeout.
func ackTarget(raw syscall.RawConn) (target uint64, rto time.Duration, ok bool) {
	err := raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return
		}
		queued, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) // written, not yet acknowledged
		if err != nil || queued < 0 {
			return
		}
		target, rto, ok = info.Bytes_acked+uint64(queued), time.Duration(info.Rto)*time.Microsecond, true
	})
	return target, rto, ok && err == nil
}

// bytesAcked reads the peer's acknowledged byte count.
func bytesAcked(raw syscall.RawConn) (acked uint64, ok bool) {
	err := raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil {
			acked, ok = info.Bytes_acked, true
		}
	})
	return acked, ok && err == nil
}

// watchDelivery checks, after a break notification was written to c, that the peer's TCP
// acknowledges it, and closes c when it does not in time (see above).
func (c *conn) watchDelivery() {
	tc, ok := c.nc.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	target, rto, ok := ackTarget(raw)
	if !ok {
		return
	}
	timeout := min(max(ackRTOs*rto, ackMinTimeout), ackMaxTimeout)
	poll := min(max(rto, 200*time.Millisecond), time.Second)
	go func() {
		deadline := time.Now().Add(timeout)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			acked, ok := bytesAcked(raw)
			if !ok || acked >= target {
				return
			}
			if time.Now().After(deadline) {
				c.log.Warn("dropping connection: a break notification was not acknowledged by the client's TCP",
					"waited", timeout, "unacknowledged", target-acked)
				c.close()
				return
			}
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
