// Package dnsreg keeps the cluster's names true in DNS (ARCHITECTURE.md, "Names in DNS").
//
// Clients find the file server by its access point name; DNS must hold one A/AAAA record
// per client-facing address of every up node, plus a per-node name used for
// redirection. The package has one file per concern:
//
//   - networks.go, discover.go: which addresses are client-facing. AddrWatcher reads
//     links and addresses over netlink (in any network namespace), filters them with
//     ClientAddrs (per-subnet Role; loopback, link-local, tentative, DAD-failed and
//     deprecated IPv6 and addresses on down links excluded) and follows
//     RTM_NEWADDR/DELADDR/NEWLINK notifications, reporting changes in well under 1 s.
//   - nodes.go: NodeSource, the slice of cluster state needed (nodes, up/down, client
//     addresses, change notification), and NodeTable, an in-memory implementation the
//     cluster package can feed until it adapts its own state.
//   - records.go: the pure part. DesiredRecords turns nodes into a RecordSet; PlanName
//     computes the prerequisite-free change for one name; ownership records.
//   - updater.go, errors.go: Updater, the RFC 2136 Registrar (zone and primary from
//     SOA/MNAME or configuration, TSIG, retries with backoff, one atomic UPDATE per
//     name). Every refusal is a *ServerError carrying the server, rcode, TSIG error and
//     the server's answer.
//   - keyfile.go: BIND key-file parser for TSIG keys.
//   - resource.go: NetworkName, the "network name" cluster resource (ResourceAgent:
//     Online/Offline/LooksAlive/IsAlive). Online registers and verifies by query, then
//     follows node and address changes; down nodes' records are withdrawn.
//   - responder.go: Responder, an authoritative server for a delegated cluster zone
//     (UDP and TCP, AXFR) answering from the same NodeSource.
//   - toolconfig.go: the JSON config and report behind `sofsctl dns`.
//
// # Which records are ours
//
// The updater must add missing records and delete stale ones without ever touching
// records someone else created at the same names. A/AAAA records carry no owner, so for
// every managed name we keep a TXT RRset at "_sofs-owner.<name>" whose strings are
// "sofs-owner=<cluster id>" and the addresses we added. Each update deletes single RRs
// (class NONE, RFC 2136 section 2.5.4) only for addresses on that list and rewrites the
// list in the same message, which the primary applies atomically (section 3.4.2), so
// the list and the records never disagree. The alternatives were worse: persisting the
// list locally loses it when the resource moves to another node; deleting whole RRsets
// (class ANY) removes administrators' records; tagging via TTL or a separate zone is
// fragile or needs more DNS configuration. An address someone else had already
// registered is never added to our list, so it survives even when we stop wanting it,
// and a name whose list names another cluster id is refused, not taken over.
package dnsreg
