package server

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sofs-dev/sofs/smb/wire"
)

// FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11): a multichannel client asks which
// addresses it may open more channels to. We list the addresses the server listens on, with
// the interface each belongs to.

// hostInterface is one network interface of the host, as the listing needs it.
type hostInterface struct {
	Index     int
	Name      string
	Up        bool
	Loopback  bool
	Addrs     []netip.Addr
	SpeedMbps int64 // from /sys/class/net/NAME/speed; 0 when the kernel does not know
	RxQueues  int   // receive queues: more than one means receive-side scaling
}

// interfaceSource lists the host's interfaces; Server.interfaces is one (tests inject theirs).
type interfaceSource func() ([]hostInterface, error)

// unknownLinkSpeed is reported for interfaces whose speed the kernel does not know (loopback,
// most virtual devices): 1 Gbit/s, so clients neither prefer nor shun them.
const unknownLinkSpeed = 1_000_000_000

// sysClassNet is where Linux describes network devices.
const sysClassNet = "/sys/class/net"

// hostInterfaces reads the interfaces from the kernel: addresses from net.Interfaces, speed
// and queue count from sysfs.
func hostInterfaces() ([]hostInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	out := make([]hostInterface, 0, len(ifs))
	for _, ifc := range ifs {
		h := hostInterface{Index: ifc.Index, Name: ifc.Name, Up: ifc.Flags&net.FlagUp != 0, Loopback: ifc.Flags&net.FlagLoopback != 0}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					h.Addrs = append(h.Addrs, ip.Unmap())
				}
			}
		}
		dir := filepath.Join(sysClassNet, ifc.Name)
		if b, err := os.ReadFile(filepath.Join(dir, "speed")); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
				h.SpeedMbps = v
			}
		}
		if q, err := filepath.Glob(filepath.Join(dir, "queues", "rx-*")); err == nil {
			h.RxQueues = len(q)
		}
		out = append(out, h)
	}
	return out, nil
}

// interfaceInfo builds the FSCTL answer: one entry per address of an up interface that a
// listener serves. A wildcard listener serves every address of its family except loopback and
// IPv6 link-local ones (useless to a remote client); an explicit listener serves its own
// address. Entries of one interface share its IfIndex (MS-SMB2 3.3.5.15.11); interface index 0
// is never listed. Ports are 0: the client connects to the port it already uses (2.2.32.5.1).
func interfaceInfo(listen []netip.Addr, ifs []hostInterface) []wire.NetworkInterfaceInfo {
	serves := func(a netip.Addr, loopback bool) bool {
		for _, l := range listen {
			switch {
			case l == a:
				return true
			case l.IsUnspecified() && !loopback && !a.IsLinkLocalUnicast():
				// Go's "[::]" listener is dual-stack; "0.0.0.0" serves IPv4 only.
				if l.Is6() || a.Is4() {
					return true
				}
			}
		}
		return false
	}
	var out []wire.NetworkInterfaceInfo
	for _, h := range ifs {
		if !h.Up || h.Index <= 0 {
			continue
		}
		speed := uint64(unknownLinkSpeed)
		if h.SpeedMbps > 0 {
			speed = uint64(h.SpeedMbps) * 1_000_000
		}
		var caps uint32
		if h.RxQueues > 1 {
			caps |= wire.InterfaceCapRSS
		}
		for _, a := range h.Addrs {
			if serves(a, h.Loopback) {
				out = append(out, wire.NetworkInterfaceInfo{IfIndex: uint32(h.Index), Capability: caps, LinkSpeed: speed,
					Addr: netip.AddrPortFrom(a, 0)})
			}
		}
	}
	return out
}

// listenAddrs returns the IP addresses of the server's listeners.
func (s *Server) listenAddrs() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for ln := range s.listeners {
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
			out = append(out, ap.Addr().Unmap())
		}
	}
	return out
}

// queryNetworkInterfaces answers FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11).
func queryNetworkInterfaces(r *request, req *wire.IoctlRequest) error {
	n := r.c.neg.Load()
	if n.di.capabilities&wire.CapMultiChannel == 0 {
		return wire.StatusNotSupported // not a 3.x connection (the spec allows refusing)
	}
	if req.FileID != allFF {
		return errInvalidParameter
	}
	ifs, err := r.c.srv.interfaces()
	if err != nil {
		return err
	}
	list := interfaceInfo(r.c.srv.listenAddrs(), ifs)
	// Whole entries only: a truncated list is still a valid one, flagged as overflowing.
	fit := min(len(list), int(req.MaxOutputResponse/wire.NetworkInterfaceInfoSize))
	if fit < len(list) {
		r.status = wire.StatusBufferOverflow
	}
	out := wire.AppendNetworkInterfaceInfo(nil, list[:fit])
	r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: req.FileID, Output: out}).Append(r.resp)
	return nil
}
