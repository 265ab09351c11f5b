package dnsreg

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// AddrWatcher reports a node's client-facing addresses from the kernel over netlink and
// follows address and link changes.
type AddrWatcher struct {
	// Namespace is the network namespace to read; netns.None() means the caller's own.
	Namespace netns.NsHandle
	Networks  []Network
	// Resync re-reads everything this often even without events, in case the kernel
	// dropped a notification (netlink multicast is lossy under memory pressure).
	Resync time.Duration
	Logger *slog.Logger
}

// Snapshot reads every link and address once.
func (w *AddrWatcher) Snapshot() ([]InterfaceAddr, error) {
	h, err := netlink.NewHandleAt(w.Namespace)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in namespace %s: %w", w.Namespace, err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	type linkInfo struct {
		name string
		up   bool
	}
	byIndex := map[int]linkInfo{}
	for _, l := range links {
		a := l.Attrs()
		byIndex[a.Index] = linkInfo{name: a.Name, up: linkUsable(a)}
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	var out []InterfaceAddr
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		li := byIndex[a.LinkIndex]
		out = append(out, InterfaceAddr{
			Link:   li.name,
			LinkUp: li.up,
			Prefix: netip.PrefixFrom(ip.Unmap(), ones),
			Flags:  a.Flags,
		})
	}
	return out, nil
}

// linkUsable: administratively up and not reporting a missing carrier. Unknown operational
// state (loopback, dummy, many tunnels) counts as usable.
func linkUsable(a *netlink.LinkAttrs) bool {
	if a.Flags&net.FlagUp == 0 {
		return false
	}
	switch a.OperState {
	case netlink.OperDown, netlink.OperLowerLayerDown, netlink.OperNotPresent:
		return false
	}
	return true
}

// ClientAddrs reads the current client-facing addresses.
func (w *AddrWatcher) ClientAddrs() ([]netip.Addr, error) {
	snap, err := w.Snapshot()
	if err != nil {
		return nil, err
	}
	return ClientAddrs(snap, w.Networks), nil
}

// Run calls report with the client-facing addresses at start and again whenever they
// change, until ctx ends. It subscribes to address and link notifications before each
// full read so no change between the read and the subscription is lost. If a working
// subscription breaks (netlink multicast overruns with ENOBUFS when the socket buffer
// fills), Run subscribes again and re-reads everything; it returns an error only if
// the very first subscription or read fails, which means a bad namespace or missing
// privileges.
func (w *AddrWatcher) Run(ctx context.Context, report func([]netip.Addr)) error {
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	st := &watchState{log: log, report: report, first: true}
	backoff := 100 * time.Millisecond
	for {
		established, err := w.watch(ctx, st)
		if ctx.Err() != nil {
			return nil
		}
		if !established {
			return err
		}
		log.Warn("netlink watch broke; subscribing again", "namespace", w.Namespace.String(), "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

type watchState struct {
	log    *slog.Logger
	report func([]netip.Addr)
	last   []netip.Addr
	first  bool
}

// watch runs one subscription; established says whether it got as far as a full read.
func (w *AddrWatcher) watch(ctx context.Context, st *watchState) (established bool, err error) {
	done := make(chan struct{})
	var addrCh chan netlink.AddrUpdate
	var linkCh chan netlink.LinkUpdate
	defer func() {
		// Closing done closes the sockets; netlink then closes the channels. Keep reading
		// until it does, so its goroutines never block on a full channel and leak.
		close(done)
		for _, c := range []func(){func() { drainClosed(addrCh) }, func() { drainClosed(linkCh) }} {
			go c()
		}
	}()
	subErr := make(chan error, 2)
	onErr := func(err error) {
		select {
		case subErr <- err:
		default:
		}
	}
	ns := w.Namespace
	// The deferred drain only touches channels netlink has taken (and will close).
	newAddrCh := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(newAddrCh, done, netlink.AddrSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		return false, fmt.Errorf("subscribe to address changes in namespace %s: %w", ns, err)
	}
	addrCh = newAddrCh
	newLinkCh := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(newLinkCh, done, netlink.LinkSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		return false, fmt.Errorf("subscribe to link changes in namespace %s: %w", ns, err)
	}
	linkCh = newLinkCh
	resync := w.Resync
	if resync <= 0 {
		resync = 30 * time.Second
	}
	ticker := time.NewTicker(resync)
	defer ticker.Stop()

	refresh := func() error {
		addrs, err := w.ClientAddrs()
		if err != nil {
			return err
		}
		if st.first || !slices.Equal(addrs, st.last) {
			st.log.Info("client addresses", "namespace", ns.String(), "addrs", addrs)
			st.first = false
			st.last = addrs
			st.report(slices.Clone(addrs))
		}
		return nil
	}
	if err := refresh(); err != nil {
		return false, err
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-subErr:
			return true, fmt.Errorf("netlink subscription: %w", err)
		case _, ok := <-addrCh:
			if !ok {
				return true, fmt.Errorf("netlink address subscription closed")
			}
		case _, ok := <-linkCh:
			if !ok {
				return true, fmt.Errorf("netlink link subscription closed")
			}
		case <-ticker.C:
		}
		// Drain whatever else is queued so a burst of events costs one re-read.
		drain(addrCh, linkCh)
		if err := refresh(); err != nil {
			return true, err
		}
	}
}

func drain(addrCh chan netlink.AddrUpdate, linkCh chan netlink.LinkUpdate) {
	for {
		select {
		case _, ok := <-addrCh:
			if !ok {
				return // Run notices the closed channel on its next select
			}
		case _, ok := <-linkCh:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// drainClosed reads c until it is closed; a nil channel (never subscribed) is skipped.
func drainClosed[T any](c chan T) {
	if c == nil {
		return
	}
	for range c {
	}
}
