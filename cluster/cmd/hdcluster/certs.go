package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"honeydue-k8s/cluster/internal/topology"
)

// certSpec describes one leaf certificate signed by the cluster CA.
type certSpec struct {
	file   string // DIR/pki/<file>.crt and .key
	cn     string
	orgs   []string
	server bool
	dns    []string
	ips    []net.IP
}

type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// writePKI creates everything the components authenticate with. ECDSA keeps
// generation instant; only the service-account key is RSA, as k3s's is.
func writePKI(pkiDir string) error {
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	ca, err := newCA(pkiDir)
	if err != nil {
		return err
	}
	var nodeNames []string
	var nodeIPs []net.IP
	for _, n := range topology.Nodes {
		nodeNames = append(nodeNames, n.Name)
		nodeIPs = append(nodeIPs, net.ParseIP(n.InternalIP))
	}
	leaves := []certSpec{
		{file: "apiserver", cn: "kube-apiserver", server: true,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(topology.FirstServiceIP)}},
		{file: "admin", cn: "system:admin", orgs: []string{"system:masters"}},
		// The apiserver's client identity towards the simulated kubelets (kubectl logs).
		{file: "apiserver-kubelet-client", cn: "system:kube-apiserver", orgs: []string{"system:masters"}},
		{file: "kubelet", cn: "simulated-kubelet", server: true, ips: nodeIPs, dns: nodeNames},
	}
	for _, l := range leaves {
		if err := ca.issue(pkiDir, l); err != nil {
			return fmt.Errorf("certificate %s: %w", l.file, err)
		}
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(pkiDir, "sa.key"), saKey); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	return writePEM(filepath.Join(pkiDir, "sa.pub"), "PUBLIC KEY", pub, 0o644)
}

func newCA(pkiDir string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "honeydue-local-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writePEM(filepath.Join(pkiDir, "ca.crt"), "CERTIFICATE", der, 0o644); err != nil {
		return nil, err
	}
	// The controller-manager signs CSRs with it (--cluster-signing-*).
	if err := writeKey(filepath.Join(pkiDir, "ca.key"), key); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

func (ca *authority) issue(pkiDir string, s certSpec) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	usage := x509.ExtKeyUsageClientAuth
	if s.server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(pkiDir, s.file+".crt"), "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeKey(filepath.Join(pkiDir, s.file+".key"), key)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), mode)
}
