package dnsreg

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/miekg/dns"
)

// ServerError is a DNS exchange that failed: the server refused (REFUSED, NOTAUTH,
// SERVFAIL, ...), rejected our signature (BADSIG, BADKEY, BADTIME) or did not answer.
// It carries the server's address and its answer so a registration problem is never
// reported without the evidence.
type ServerError struct {
	// Op says what we tried, e.g. "update fs1.corp.example." or "query SOA corp.example.".
	Op string
	// Server is the address we sent to.
	Server string
	// Rcode is the response code, or -1 when no usable answer arrived.
	Rcode int
	// TSIGError is the error field of the server's TSIG record (RFC 8945 section 5.3), 0 if none.
	TSIGError uint16
	// Answer is a one-line rendering of the server's response, "" when there was none.
	Answer string
	// Err is the transport or verification error, if any.
	Err error
}

// Code is the short name of the refusal: the TSIG error if there is one ("BADSIG"),
// else the rcode ("REFUSED"), else "timeout" or "no answer".
func (e *ServerError) Code() string {
	switch {
	case e.TSIGError != 0:
		return rcodeName(int(e.TSIGError))
	case e.Rcode >= 0:
		return rcodeName(e.Rcode)
	case isTimeout(e.Err):
		return "timeout"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	return "no answer"
}

func (e *ServerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dns %s at %s: %s", e.Op, e.Server, e.Code())
	if e.TSIGError != 0 && e.Rcode >= 0 {
		fmt.Fprintf(&b, " (rcode %s)", rcodeName(e.Rcode))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Answer != "" {
		fmt.Fprintf(&b, "; server answered: %s", e.Answer)
	}
	return b.String()
}

func (e *ServerError) Unwrap() error { return e.Err }

func rcodeName(c int) string {
	if s, ok := dns.RcodeToString[c]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", c)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// summarize renders a response on one line: header fields and every record.
func summarize(m *dns.Msg) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%d opcode=%s rcode=%s aa=%t", m.Id, dns.OpcodeToString[m.Opcode], rcodeName(m.Rcode), m.Authoritative)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if t, ok := rr.(*dns.TSIG); ok {
				fmt.Fprintf(&b, " | TSIG %s %s error=%s", t.Hdr.Name, t.Algorithm, rcodeName(int(t.Error)))
				continue
			}
			if _, ok := rr.(*dns.OPT); ok {
				continue
			}
			b.WriteString(" | ")
			b.WriteString(strings.Join(strings.Fields(rr.String()), " "))
		}
	}
	return b.String()
}
