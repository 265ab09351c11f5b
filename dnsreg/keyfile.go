package dnsreg

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/miekg/dns"
)

// TSIGKey is one shared secret for transaction signatures (RFC 8945).
type TSIGKey struct {
	// Name is the key name as a canonical FQDN ("sofs-key.").
	Name string
	// Algorithm is the canonical algorithm name as miekg/dns spells it ("hmac-sha256.").
	Algorithm string
	// Secret is the base64 encoding of the shared secret.
	Secret string
}

// tsigAlgorithms maps the names BIND accepts in key files to the algorithm domain names
// of RFC 8945 section 6.
var tsigAlgorithms = map[string]string{
	"hmac-md5":                 dns.HmacMD5,
	"hmac-md5.sig-alg.reg.int": dns.HmacMD5,
	"hmac-sha1":                dns.HmacSHA1,
	"hmac-sha224":              dns.HmacSHA224,
	"hmac-sha256":              dns.HmacSHA256,
	"hmac-sha384":              dns.HmacSHA384,
	"hmac-sha512":              dns.HmacSHA512,
}

// LoadKeyFile reads a BIND key file (as written by tsig-keygen or rndc-confgen).
func LoadKeyFile(path string) ([]TSIGKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read TSIG key file: %w", err)
	}
	keys, err := ParseKeyFile(string(data))
	if err != nil {
		return nil, fmt.Errorf("parse TSIG key file %s: %w", path, err)
	}
	return keys, nil
}

// ParseKeyFile parses the BIND key-file syntax:
//
//	key "name" { algorithm hmac-sha256; secret "base64"; };
//
// with any number of key statements and #, // and /* */ comments. Every key needs
// both an algorithm we support and a secret that is valid base64.
func ParseKeyFile(text string) ([]TSIGKey, error) {
	toks, err := tokenizeBindConf(text)
	if err != nil {
		return nil, err
	}
	p := &keyFileParser{toks: toks}
	var keys []TSIGKey
	seen := map[string]bool{}
	for !p.done() {
		k, err := p.keyStatement()
		if err != nil {
			return nil, err
		}
		if seen[k.Name] {
			return nil, fmt.Errorf("key %q defined twice", k.Name)
		}
		seen[k.Name] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key statement")
	}
	return keys, nil
}

// FormatKeyFile writes keys in the syntax ParseKeyFile reads.
func FormatKeyFile(keys []TSIGKey) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "key %q {\n\talgorithm %s;\n\tsecret %q;\n};\n",
			strings.TrimSuffix(k.Name, "."), strings.TrimSuffix(k.Algorithm, "."), k.Secret)
	}
	return b.String()
}

type bindToken struct {
	text   string
	quoted bool
	line   int
}

func tokenizeBindConf(s string) ([]bindToken, error) {
	var toks []bindToken
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || (c == '/' && i+1 < len(s) && s[i+1] == '/'):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated comment", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, bindToken{text: string(c), line: line})
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			str := s[i+1 : i+1+end]
			if strings.ContainsAny(str, "\n\\") {
				return nil, fmt.Errorf("line %d: newline or escape inside string", line)
			}
			toks = append(toks, bindToken{text: str, quoted: true, line: line})
			i += end + 2
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\r\n{};\"#", rune(s[i])) && !(s[i] == '/' && i+1 < len(s) && (s[i+1] == '/' || s[i+1] == '*')) {
				i++
			}
			toks = append(toks, bindToken{text: s[start:i], line: line})
		}
	}
	return toks, nil
}

type keyFileParser struct {
	toks []bindToken
	pos  int
}

func (p *keyFileParser) done() bool { return p.pos >= len(p.toks) }

func (p *keyFileParser) next() (bindToken, error) {
	if p.done() {
		line := 0
		if len(p.toks) > 0 {
			line = p.toks[len(p.toks)-1].line
		}
		return bindToken{}, fmt.Errorf("line %d: unexpected end of file", line)
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

func (p *keyFileParser) expect(punct string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.quoted || t.text != punct {
		return fmt.Errorf("line %d: want %q, got %q", t.line, punct, t.text)
	}
	return nil
}

func (p *keyFileParser) keyStatement() (TSIGKey, error) {
	t, err := p.next()
	if err != nil {
		return TSIGKey{}, err
	}
	if t.quoted || t.text != "key" {
		return TSIGKey{}, fmt.Errorf("line %d: want key statement, got %q", t.line, t.text)
	}
	nameTok, err := p.next()
	if err != nil {
		return TSIGKey{}, err
	}
	if !nameTok.quoted && (nameTok.text == "{" || nameTok.text == "}" || nameTok.text == ";") {
		return TSIGKey{}, fmt.Errorf("line %d: key name missing", nameTok.line)
	}
	if !plainDomainName(nameTok.text) {
		return TSIGKey{}, fmt.Errorf("line %d: key name %q is not a plain domain name", nameTok.line, nameTok.text)
	}
	key := TSIGKey{Name: dns.CanonicalName(nameTok.text)}
	if err := p.expect("{"); err != nil {
		return TSIGKey{}, err
	}
	for {
		t, err := p.next()
		if err != nil {
			return TSIGKey{}, err
		}
		if !t.quoted && t.text == "}" {
			break
		}
		val, err := p.next()
		if err != nil {
			return TSIGKey{}, err
		}
		if !val.quoted && (val.text == "{" || val.text == "}" || val.text == ";") {
			return TSIGKey{}, fmt.Errorf("line %d: %s needs a value", val.line, t.text)
		}
		switch {
		case !t.quoted && t.text == "algorithm":
			if key.Algorithm != "" {
				return TSIGKey{}, fmt.Errorf("line %d: algorithm given twice", t.line)
			}
			alg, ok := tsigAlgorithms[strings.ToLower(strings.TrimSuffix(val.text, "."))]
			if !ok {
				return TSIGKey{}, fmt.Errorf("line %d: unsupported TSIG algorithm %q", val.line, val.text)
			}
			key.Algorithm = alg
		case !t.quoted && t.text == "secret":
			if key.Secret != "" {
				return TSIGKey{}, fmt.Errorf("line %d: secret given twice", t.line)
			}
			raw, err := base64.StdEncoding.DecodeString(val.text)
			if err != nil {
				return TSIGKey{}, fmt.Errorf("line %d: secret is not base64: %w", val.line, err)
			}
			if len(raw) == 0 {
				return TSIGKey{}, fmt.Errorf("line %d: empty secret", val.line)
			}
			// Store the canonical encoding so the value round-trips exactly.
			key.Secret = base64.StdEncoding.EncodeToString(raw)
		default:
			return TSIGKey{}, fmt.Errorf("line %d: unknown key option %q", t.line, t.text)
		}
		if err := p.expect(";"); err != nil {
			return TSIGKey{}, err
		}
	}
	if err := p.expect(";"); err != nil {
		return TSIGKey{}, err
	}
	if key.Algorithm == "" {
		return TSIGKey{}, fmt.Errorf("key %q: algorithm missing", key.Name)
	}
	if key.Secret == "" {
		return TSIGKey{}, fmt.Errorf("key %q: secret missing", key.Name)
	}
	return key, nil
}

// plainDomainName accepts host-name-like names (letters, digits, '-', '_', dots between
// non-empty labels, optional trailing dot). Key names with escapes are legal DNS but no
// tool writes them, and refusing them keeps the key file syntax unambiguous.
func plainDomainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
