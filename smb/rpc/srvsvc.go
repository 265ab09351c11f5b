package rpc

import (
	"fmt"
	"strings"
)

// The srvsvc interface (MS-SRVS), just enough for share browsing: smbclient -L, Explorer's \\server view,
// "net view" and NetShareGetInfo. Everything else faults with nca_s_op_rng_error.

// SrvsvcSyntax identifies srvsvc (MS-SRVS 1.9).
var SrvsvcSyntax = SyntaxID{UUID: MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188"), Major: 3, Minor: 0}

// srvsvc opnums served (MS-SRVS 3.1.4).
const (
	opNetrShareEnum       = 15
	opNetrShareGetInfo    = 16
	opNetrServerGetInfo   = 21
	opNetrShareEnumSticky = 36 // same wire form as NetrShareEnum; rpcclient's "netshareenum" uses it
)

// Win32 / LAN Manager status codes returned in the stub (MS-ERREF 2.2).
const (
	errSuccess          = 0
	errAccessDenied     = 5    // ERROR_ACCESS_DENIED
	errInvalidLevel     = 124  // ERROR_INVALID_LEVEL
	errMoreData         = 234  // ERROR_MORE_DATA
	nerrNetNameNotFound = 2310 // NERR_NetNameNotFound
)

// Constants reported by NetrServerGetInfo.
const (
	platformIDNT   = 500 // PLATFORM_ID_NT (MS-SRVS 2.2.2.6)
	svTypeWorkstn  = 0x00000001
	svTypeServer   = 0x00000002
	svTypeNT       = 0x00001000
	svTypeServerNT = 0x00008000
	serverType     = svTypeWorkstn | svTypeServer | svTypeNT | svTypeServerNT
	versionMajor   = 10 // what Windows Server 2016 and later report
	versionMinor   = 0
	// SHARE_INFO_2 / 502 fields we do not track.
	shiUsesUnlimited = 0xFFFFFFFF
	// MAX_PREFERRED_LENGTH: the client takes everything (MS-SRVS 2.2.2.2).
	maxPreferredLength = 0xFFFFFFFF
)

// Union arms that exist in the IDL: the union of MS-SRVS (2.2.3.2 SHARE_ENUM_UNION, 2.2.3.6 SHARE_INFO,
// 2.2.3.7 SERVER_INFO) and Samba's srvsvc.idl, which adds a few legacy levels, so that a client built from
// either IDL parses our answer. For a level that is an arm we always marshal its pointer (null when we do
// not serve the level); for a level that is no arm nothing follows the discriminant, as with Samba's
// [default] arm.
var (
	shareEnumArms  = levelSet(0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1007, 1501)
	shareInfoArms  = levelSet(0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1007, 1501)
	serverInfoArms = levelSet(100, 101, 102, 103, 402, 403, 502, 503, 599, 1005, 1010, 1016, 1017, 1018,
		1107, 1501, 1502, 1503, 1506, 1509, 1510, 1511, 1512, 1513, 1514, 1515, 1516, 1518, 1520, 1521,
		1522, 1523, 1524, 1525, 1528, 1529, 1530, 1533, 1534, 1535, 1536, 1537, 1538, 1539, 1540, 1541,
		1542, 1543, 1544, 1545, 1546, 1547, 1548, 1549, 1550, 1552, 1553, 1554, 1555, 1556)
)

func levelSet(levels ...uint32) map[uint32]bool {
	m := make(map[uint32]bool, len(levels))
	for _, l := range levels {
		m[l] = true
	}
	return m
}

type srvsvc struct{ srv *Server }

func newSrvsvc(s *Server) *Interface {
	h := &srvsvc{srv: s}
	return &Interface{Name: "srvsvc", Syntax: SrvsvcSyntax, Invoke: h.invoke}
}

func (h *srvsvc) invoke(c *Call) ([]byte, error) {
	opnum, stub, admin, anon := c.Opnum, c.Stub, c.Caller.Admin && !c.Caller.Anonymous, c.Caller.Anonymous
	switch opnum {
	case opNetrShareEnum, opNetrShareEnumSticky:
		req, err := decodeShareEnumRequest(stub)
		if err != nil {
			return nil, fmt.Errorf("srvsvc opnum %d: %w", opnum, err)
		}
		return h.shareEnum(req, opnum == opNetrShareEnumSticky, admin, anon), nil
	case opNetrShareGetInfo:
		req, err := decodeShareGetInfoRequest(stub)
		if err != nil {
			return nil, fmt.Errorf("srvsvc NetrShareGetInfo: %w", err)
		}
		return h.shareGetInfo(req, admin), nil
	case opNetrServerGetInfo:
		req, err := decodeServerGetInfoRequest(stub)
		if err != nil {
			return nil, fmt.Errorf("srvsvc NetrServerGetInfo: %w", err)
		}
		return h.serverGetInfo(req, admin), nil
	}
	return nil, &Fault{Status: FaultOpRangeError}
}

func (h *srvsvc) shares() []Share {
	if h.srv.Shares == nil {
		return nil
	}
	return h.srv.Shares.Shares()
}

// shareEnumRequest is the [in] side of NetrShareEnum (MS-SRVS 3.1.4.8).
type shareEnumRequest struct {
	ServerName   string
	HasServer    bool
	Level        uint32
	PrefMaxLen   uint32
	HasResume    bool
	ResumeHandle uint32
}

func decodeShareEnumRequest(stub []byte) (shareEnumRequest, error) {
	var r shareEnumRequest
	d := newNDRDecoder(stub)
	r.ServerName, r.HasServer = d.UniqueString()
	// LPSHARE_ENUM_STRUCT is a top-level [ref] pointer: the struct follows inline.
	r.Level = d.Uint32()
	if disc := d.Uint32(); d.Err() == nil && disc != r.Level {
		return r, fmt.Errorf("%w: union discriminant %d differs from level %d", ErrNDR, disc, r.Level)
	}
	if shareEnumArms[r.Level] {
		if d.Pointer() != 0 {
			// Deferred container: EntriesRead and the Buffer pointer. Clients send an empty container;
			// an [in] array of share entries has no meaning and is refused rather than skipped.
			d.Uint32()
			if d.Pointer() != 0 && d.Err() == nil {
				return r, fmt.Errorf("%w: non-null [in] share buffer", ErrNDR)
			}
		}
	}
	r.PrefMaxLen = d.Uint32()
	if d.Pointer() != 0 {
		r.HasResume = true
		r.ResumeHandle = d.Uint32()
	}
	return r, d.Err()
}

// entrySize estimates what one entry costs against PreferedMaximumLength: the 32-bit structure plus its
// strings in UTF-16 with terminators, which is how the Windows server counts its output buffer.
func entrySize(level uint32, s Share) uint32 {
	str := func(v string) uint32 { return uint32(2 * (len([]rune(v)) + 1)) }
	switch level {
	case 0:
		return 4 + str(s.Name)
	case 1:
		return 12 + str(s.Name) + str(s.Comment)
	case 501:
		return 16 + str(s.Name) + str(s.Comment)
	case 2:
		return 32 + str(s.Name) + str(s.Comment) + str(s.Path)
	default: // 502
		return 40 + str(s.Name) + str(s.Comment) + str(s.Path)
	}
}

// adminShareLevel reports the share info levels that expose local paths and are reserved to
// administrators (MS-SRVS 3.1.4.8 and 3.1.4.10: levels 2, 502 and 503).
func adminShareLevel(level uint32) bool { return level == 2 || level == 502 || level == 503 }

func (h *srvsvc) shareEnum(req shareEnumRequest, sticky, admin, anon bool) []byte {
	all := h.shares()
	if sticky {
		// Sticky shares are the permanent ones; the special admin shares and IPC$ are not among them.
		kept := all[:0:0]
		for _, s := range all {
			if s.Type&STypeSpecial == 0 && s.Type&0xFF != STypeIPC {
				kept = append(kept, s)
			}
		}
		all = kept
	}
	e := newNDREncoder()
	e.Uint32(req.Level) // SHARE_ENUM_STRUCT.Level
	e.Uint32(req.Level) // union discriminant
	served := req.Level == 0 || req.Level == 1 || req.Level == 2 || req.Level == 501 || req.Level == 502
	// Windows answers NetrShareEnumSticky level 501 with ERROR_INVALID_LEVEL and refuses level 501 of
	// NetrShareEnum to null sessions (the expectations of Samba's smbtorture rpc.srvsvc, written against
	// Windows servers).
	if sticky && req.Level == 501 {
		served = false
	}
	denied := (adminShareLevel(req.Level) && !admin) || (req.Level == 501 && anon)
	if !served || denied {
		status := uint32(errInvalidLevel)
		if served {
			status = errAccessDenied
		}
		if shareEnumArms[req.Level] {
			e.Pointer(false)
		}
		e.Uint32(0) // TotalEntries
		if req.HasResume {
			e.Pointer(true)
			e.Uint32(req.ResumeHandle)
		} else {
			e.Pointer(false)
		}
		e.Uint32(status)
		return e.Bytes()
	}

	// The resume handle is the index of the next entry; one past the end yields an empty page.
	start := 0
	if req.HasResume {
		start = int(min(req.ResumeHandle, uint32(len(all))))
	}
	// MS-SRVS 3.1.4.8: return as many entries as fit PreferedMaximumLength and ERROR_MORE_DATA if some are
	// left. At least one entry is returned so that a client with a tiny buffer still makes progress.
	n := 0
	var used uint32
	for i := start; i < len(all); i++ {
		sz := entrySize(req.Level, all[i])
		if n > 0 && req.PrefMaxLen != maxPreferredLength && used+sz > req.PrefMaxLen {
			break
		}
		used += sz
		n++
	}
	page := all[start : start+n]
	status := uint32(errSuccess)
	if start+n < len(all) {
		status = errMoreData
	}

	e.Pointer(true) // container
	e.Uint32(uint32(len(page)))
	e.Pointer(len(page) > 0)
	if len(page) > 0 {
		e.Uint32(uint32(len(page))) // conformance of the array
		for _, s := range page {
			marshalShareFixed(e, req.Level, s)
		}
		for _, s := range page {
			marshalShareDeferred(e, req.Level, s)
		}
	}
	// TotalEntries counts what could be enumerated from the resume position (MS-SRVS 3.1.4.8).
	e.Uint32(uint32(len(all) - start))
	if req.HasResume {
		// The next index while entries remain; 0 once the enumeration is complete, as Windows and
		// Samba answer, so a client looping "while resume != 0" stops.
		next := uint32(0)
		if status == errMoreData {
			next = uint32(start + n)
		}
		e.Pointer(true)
		e.Uint32(next)
	} else {
		e.Pointer(false)
	}
	e.Uint32(status)
	return e.Bytes()
}

// marshalShareFixed writes the fixed part of SHARE_INFO_<level> (MS-SRVS 2.2.4.22–2.2.4.30).
func marshalShareFixed(e *ndrEncoder, level uint32, s Share) {
	switch level {
	case 1005:
		e.Uint32(s.Flags)
		return
	}
	e.Pointer(true) // shi_netname
	if level == 0 {
		return
	}
	e.Uint32(s.Type)
	e.Pointer(true) // shi_remark
	switch level {
	case 501:
		e.Uint32(s.Flags)
	case 2, 502:
		e.Uint32(0)                // shi_permissions: ignored with user-level security
		e.Uint32(shiUsesUnlimited) // shi_max_uses
		e.Uint32(0)                // shi_current_uses: not tracked
		e.Pointer(true)            // shi_path
		e.Pointer(false)           // shi_passwd: share-level passwords do not exist
		if level == 502 {
			e.Uint32(0)      // shi502_reserved: length of the security descriptor
			e.Pointer(false) // shi502_security_descriptor: not exposed
		}
	}
}

// marshalShareDeferred writes the strings the fixed part points to, in pointer order.
func marshalShareDeferred(e *ndrEncoder, level uint32, s Share) {
	if level == 1005 {
		return
	}
	e.String(s.Name)
	if level == 0 {
		return
	}
	e.String(s.Comment)
	if level == 2 || level == 502 {
		e.String(s.Path)
	}
}

// shareGetInfoRequest is the [in] side of NetrShareGetInfo (MS-SRVS 3.1.4.10).
type shareGetInfoRequest struct {
	ServerName string
	HasServer  bool
	NetName    string
	Level      uint32
}

func decodeShareGetInfoRequest(stub []byte) (shareGetInfoRequest, error) {
	var r shareGetInfoRequest
	d := newNDRDecoder(stub)
	r.ServerName, r.HasServer = d.UniqueString()
	r.NetName = d.String() // [in, string] WCHAR*: a top-level [ref] pointer, so the string is inline
	r.Level = d.Uint32()
	return r, d.Err()
}

func (h *srvsvc) shareGetInfo(req shareGetInfoRequest, admin bool) []byte {
	e := newNDREncoder()
	e.Uint32(req.Level) // union discriminant of the [out] SHARE_INFO
	fail := func(status uint32) []byte {
		if shareInfoArms[req.Level] {
			e.Pointer(false)
		}
		e.Uint32(status)
		return e.Bytes()
	}
	switch req.Level {
	case 0, 1, 2, 501, 502, 1005:
	default:
		return fail(errInvalidLevel)
	}
	if adminShareLevel(req.Level) && !admin {
		return fail(errAccessDenied)
	}
	var share *Share
	for _, s := range h.shares() {
		if strings.EqualFold(s.Name, req.NetName) {
			share = &s
			break
		}
	}
	if share == nil {
		return fail(nerrNetNameNotFound)
	}
	e.Pointer(true)
	marshalShareFixed(e, req.Level, *share)
	marshalShareDeferred(e, req.Level, *share)
	e.Uint32(errSuccess)
	return e.Bytes()
}

// serverGetInfoRequest is the [in] side of NetrServerGetInfo (MS-SRVS 3.1.4.17).
type serverGetInfoRequest struct {
	ServerName string
	HasServer  bool
	Level      uint32
}

func decodeServerGetInfoRequest(stub []byte) (serverGetInfoRequest, error) {
	var r serverGetInfoRequest
	d := newNDRDecoder(stub)
	r.ServerName, r.HasServer = d.UniqueString()
	r.Level = d.Uint32()
	return r, d.Err()
}

func (h *srvsvc) serverGetInfo(req serverGetInfoRequest, admin bool) []byte {
	e := newNDREncoder()
	e.Uint32(req.Level)
	served := req.Level == 100 || req.Level == 101 || req.Level == 102
	// Level 102 (user path, limits) is for administrators, as NetServerGetInfo documents.
	if !served || (req.Level == 102 && !admin) {
		if serverInfoArms[req.Level] {
			e.Pointer(false)
		}
		if served {
			e.Uint32(errAccessDenied)
		} else {
			e.Uint32(errInvalidLevel)
		}
		return e.Bytes()
	}
	const userPath = `C:\`
	e.Pointer(true)
	e.Uint32(platformIDNT) // sv10x_platform_id
	e.Pointer(true)        // sv10x_name
	if req.Level >= 101 {
		e.Uint32(versionMajor)
		e.Uint32(versionMinor)
		e.Uint32(serverType)
		e.Pointer(true) // sv10x_comment
	}
	if req.Level == 102 {
		e.Uint32(0xFFFFFFFF) // sv102_users: no limit
		e.Uint32(15)         // sv102_disc: autodisconnect minutes, the Windows default
		e.Uint32(0)          // sv102_hidden: SV_VISIBLE
		e.Uint32(240)        // sv102_announce: seconds, the Windows default
		e.Uint32(3000)       // sv102_anndelta: milliseconds
		e.Uint32(0)          // sv102_licenses
		e.Pointer(true)      // sv102_userpath
	}
	e.String(h.srv.ServerName)
	if req.Level >= 101 {
		e.String(h.srv.Comment)
	}
	if req.Level == 102 {
		e.String(userPath)
	}
	e.Uint32(errSuccess)
	return e.Bytes()
}
