package server

import (
	"testing"

	"github.com/sofs-dev/sofs/smb/wire"
)

// bindingRequest builds a SESSION_SETUP request header with the binding flag, signed or not.
func bindingRequest(signed bool) []byte {
	msg := make([]byte, wire.HeaderSize, wire.HeaderSize+32)
	h := wire.Header(msg)
	h.Init(wire.CmdSessionSetup)
	if signed {
		h.SetFlags(wire.FlagSigned)
	}
	return (&wire.SessionSetupRequest{Flags: wire.SessionFlagBinding}).Append(msg)
}

// connWith returns a connection that negotiated dialect d with the given cipher and 3.1.1
// signing algorithm.
func connWith(t *testing.T, d wire.Dialect, cipher, signAlgo uint16) *conn {
	t.Helper()
	di, ok := lookupDialect(d)
	if !ok {
		t.Fatalf("no dialect %v", d)
	}
	c := &conn{}
	c.neg.Store(&negotiation{di: di, cipher: cipher, signAlgo: signAlgo})
	return c
}

// sessionFrom returns a valid session established over c.
func sessionFrom(c *conn) *session {
	n := c.neg.Load()
	return &session{state: sessionValid, channels: map[*conn]*channel{c: {}}, dialect: n.di.dialect, cipher: n.cipher, signAlgo: signingAlgorithm(n)}
}

// TestBindRefusal checks the statuses Windows gives the binding attempts of smbtorture's
// smb2.session.bind_negative_* (the first connection makes the session, the second binds).
func TestBindRefusal(t *testing.T) {
	const (
		gcm, ccm   = wire.CipherAES128GCM, wire.CipherAES128CCM
		cmac, gmac = wire.SigningAESCMAC, wire.SigningAESGMAC
		hmac       = wire.SigningHMACSHA256
	)
	type end struct {
		d              wire.Dialect
		cipher, signer uint16
	}
	cases := []struct {
		name        string
		first, bind end
		want        wire.Status
	}{
		{"smb202", end{wire.DialectSMB202, 0, 0}, end{wire.DialectSMB202, 0, 0}, wire.StatusRequestNotAccepted},
		{"smb210", end{wire.DialectSMB21, 0, 0}, end{wire.DialectSMB21, 0, 0}, wire.StatusRequestNotAccepted},
		{"smb2to3", end{wire.DialectSMB21, 0, 0}, end{wire.DialectSMB311, gcm, cmac}, wire.StatusInvalidParameter},
		{"smb3to2", end{wire.DialectSMB311, gcm, cmac}, end{wire.DialectSMB21, 0, 0}, wire.StatusRequestNotAccepted},
		{"smb3to3", end{wire.DialectSMB302, ccm, 0}, end{wire.DialectSMB311, gcm, cmac}, wire.StatusInvalidParameter},
		{"smb3encGtoC", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB311, ccm, gmac}, wire.StatusInvalidParameter},
		{"smb3signCtoH", end{wire.DialectSMB311, gcm, cmac}, end{wire.DialectSMB311, gcm, hmac}, wire.StatusSuccess},
		{"smb3signHtoC", end{wire.DialectSMB311, gcm, hmac}, end{wire.DialectSMB311, gcm, cmac}, wire.StatusSuccess},
		{"smb3signCtoG", end{wire.DialectSMB311, gcm, cmac}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusNotSupported},
		{"smb3signHtoG", end{wire.DialectSMB311, gcm, hmac}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusNotSupported},
		{"smb3signGtoC", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB311, gcm, cmac}, wire.StatusRequestOutOfSequence},
		{"smb3signGtoH", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB311, gcm, hmac}, wire.StatusRequestOutOfSequence},
		{"smb3sneGtoC", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB311, ccm, cmac}, wire.StatusRequestOutOfSequence},
		{"smb3sneCtoG", end{wire.DialectSMB311, ccm, cmac}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusNotSupported},
		{"smb3signC30toG", end{wire.DialectSMB302, ccm, 0}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusNotSupported},
		{"smb3signH2XtoG", end{wire.DialectSMB21, 0, 0}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusNotSupported},
		{"smb3signGtoC30", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB302, ccm, 0}, wire.StatusRequestOutOfSequence},
		{"smb3signGtoH2X", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB21, 0, 0}, wire.StatusRequestOutOfSequence},
		{"same everything", end{wire.DialectSMB311, gcm, gmac}, end{wire.DialectSMB311, gcm, gmac}, wire.StatusSuccess},
		{"smb30 to smb30", end{wire.DialectSMB30, ccm, 0}, end{wire.DialectSMB30, ccm, 0}, wire.StatusSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sessionFrom(connWith(t, tc.first.d, tc.first.cipher, tc.first.signer))
			c2 := connWith(t, tc.bind.d, tc.bind.cipher, tc.bind.signer)
			msg := bindingRequest(true)
			r := &request{c: c2, msg: msg, hdr: wire.Header(msg)}
			if got := bindRefusal(r, s); got != tc.want {
				t.Fatalf("binding got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBindRefusalOtherRules(t *testing.T) {
	c1 := connWith(t, wire.DialectSMB311, wire.CipherAES128GCM, wire.SigningAESGMAC)
	c2 := connWith(t, wire.DialectSMB311, wire.CipherAES128GCM, wire.SigningAESGMAC)
	s := sessionFrom(c1)
	unsigned := bindingRequest(false)
	if got := bindRefusal(&request{c: c2, msg: unsigned, hdr: wire.Header(unsigned)}, s); got != wire.StatusInvalidParameter {
		t.Errorf("unsigned binding: %v, want STATUS_INVALID_PARAMETER (MS-SMB2 3.3.5.5.2)", got)
	}
	signed := bindingRequest(true)
	if got := bindRefusal(&request{c: c1, msg: signed, hdr: wire.Header(signed)}, s); got != wire.StatusRequestNotAccepted {
		t.Errorf("binding a connection that already is a channel: %v, want STATUS_REQUEST_NOT_ACCEPTED", got)
	}
	s.guest = true
	if got := bindRefusal(&request{c: c2, msg: signed, hdr: wire.Header(signed)}, s); got != wire.StatusNotSupported {
		t.Errorf("binding to a guest session: %v, want STATUS_NOT_SUPPORTED", got)
	}
	if !isBindingRequest(signed) || isBindingRequest(signed[:wire.HeaderSize]) {
		t.Error("isBindingRequest misreads the flags byte")
	}
}
