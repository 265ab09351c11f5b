package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// nodeServerName is the DNS SAN every node certificate carries; peers verify the chain against
// the cluster CA and this name (node addresses change, the CA does not).
const nodeServerName = "sofs-node"

// CA is the cluster certificate authority.
type CA struct {
	CertPEM, KeyPEM []byte
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
}

// NewCA creates a cluster CA valid for 20 years.
func NewCA(clusterName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cluster CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{CommonName: "sofs cluster CA " + clusterName, Organization: []string{"sofs"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("cluster CA certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return ParseCA(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// ParseCA loads a CA from PEM.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, errors.New("cluster CA: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	ca := &CA{CertPEM: certPEM, KeyPEM: keyPEM, cert: cert}
	if keyPEM != nil {
		kb, _ := pem.Decode(keyPEM)
		if kb == nil {
			return nil, errors.New("cluster CA: no PEM key")
		}
		if ca.key, err = x509.ParseECPrivateKey(kb.Bytes); err != nil {
			return nil, fmt.Errorf("cluster CA key: %w", err)
		}
	}
	return ca, nil
}

// Fingerprint is the SHA-256 of the CA certificate, pinned by join tokens.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// NewKey makes a node or admin key pair (PEM).
func NewKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// PublicKeyPEM encodes a public key.
func PublicKeyPEM(k *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Issue signs a certificate for subject (a node ID, or "admin") over the given public key.
// Node certificates are valid for server and client auth and carry nodeServerName.
func (ca *CA) Issue(subject string, pubPEM []byte, ips []net.IP) ([]byte, error) {
	if ca.key == nil {
		return nil, errors.New("issue certificate: this node does not hold the CA key")
	}
	pb, _ := pem.Decode(pubPEM)
	if pb == nil {
		return nil, errors.New("issue certificate: no PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(pb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{CommonName: subject, Organization: []string{"sofs"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{nodeServerName},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", subject, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Pool returns a cert pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func randSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

// NewJoinToken returns a one-time join token "<secret>.<CA fingerprint>" and the hash of the
// secret that the config DB stores (the secret itself is never replicated).
func NewJoinToken(ca *CA) (token, hash string) {
	b := make([]byte, 16)
	rand.Read(b)
	secret := hex.EncodeToString(b)
	return secret + "." + ca.Fingerprint(), tokenHash(secret)
}

func tokenHash(secret string) string {
	s := sha256.Sum256([]byte("sofs-join:" + secret))
	return hex.EncodeToString(s[:])
}

// parseJoinToken splits a token into its secret hash and the pinned CA fingerprint.
func parseJoinToken(tok string) (hash, fingerprint string, err error) {
	secret, fp, ok := strings.Cut(strings.TrimSpace(tok), ".")
	if !ok || len(secret) != 32 || len(fp) != 64 {
		return "", "", errors.New("malformed join token (want <secret>.<ca-sha256>)")
	}
	return tokenHash(secret), fp, nil
}

// TLSIdentity is what a node (or sofsctl) presents on the cluster network.
type TLSIdentity struct {
	CA   *CA
	Cert tls.Certificate
}

// LoadIdentity builds an identity from PEM files' contents.
func LoadIdentity(caPEM, certPEM, keyPEM []byte) (*TLSIdentity, error) {
	ca, err := ParseCA(caPEM, nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load certificate: %w", err)
	}
	// Send the CA along so a joining node can pin it by the token's fingerprint.
	cert.Certificate = append(cert.Certificate, ca.cert.Raw)
	return &TLSIdentity{CA: ca, Cert: cert}, nil
}

func (id *TLSIdentity) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		ClientCAs:    id.CA.Pool(),
		// Verified if given; connections without a client certificate may only use the join
		// endpoint (checked by the mux after the handshake).
		ClientAuth: tls.VerifyClientCertIfGiven,
		MinVersion: tls.VersionTLS13,
	}
}

func (id *TLSIdentity) clientConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		RootCAs:      id.CA.Pool(),
		ServerName:   nodeServerName,
		MinVersion:   tls.VersionTLS13,
	}
}
