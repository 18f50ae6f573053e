package nodeconfig_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

type cert struct {
	pem  []byte
	spki []byte
	key  []byte // PKCS#8 PEM
}

func selfSigned(t *testing.T) cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	parsed, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return cert{
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), spki: parsed.RawSubjectPublicKeyInfo,
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func TestValidateCAKey(t *testing.T) {
	t.Parallel()
	ca, other := selfSigned(t), selfSigned(t)
	for _, tc := range []struct {
		name, role, cert, key string
		want                  []string
	}{
		{name: "init with a CA and its key", role: "init", cert: string(ca.pem), key: string(ca.key)},
		{name: "init with a CA but no key", role: "init", cert: string(ca.pem), want: []string{"bootstrap.caCert: an init node signs with its CA: give bootstrap.caKey too"}},
		{name: "init with another CA's key", role: "init", cert: string(ca.pem), key: string(other.key), want: []string{"bootstrap.caKey: is not the key of bootstrap.caCert"}},
		{name: "init with a key but no CA", role: "init", key: string(ca.key), want: []string{"bootstrap.caKey: needs bootstrap.caCert, the certificate of the key"}},
		{name: "init with a key that is not PEM", role: "init", cert: string(ca.pem), key: "secretgarbage", want: []string{"bootstrap.caKey: is not a PEM private key"}},
		{name: "a key on join", role: "join", cert: string(ca.pem), key: string(ca.key), want: []string{"bootstrap.caKey: applies to role init only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid(t, tc.role)
			c.Bootstrap.CACert, c.Bootstrap.CAKey = tc.cert, tc.key
			err := nodeconfig.Validate(c)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var inv *nodeconfig.InvalidError
			require.ErrorAs(t, err, &inv)
			var got []string
			for _, fe := range inv.Errors {
				got = append(got, fe.Error())
			}
			assert.Equal(t, tc.want, got)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
			assert.NotContains(t, err.Error(), "secretgarbage")
		})
	}
}

func TestCACertHash(t *testing.T) {
	t.Parallel()
	c := selfSigned(t)
	sum := sha256.Sum256(c.spki)
	got, err := nodeconfig.CACertHash(string(c.pem))
	require.NoError(t, err)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), got)
	assert.Regexp(t, `^sha256:[a-f0-9]{64}$`, got)

	for _, bad := range []struct{ name, pem string }{
		{name: "empty", pem: ""},
		{name: "not PEM", pem: "hello"},
		{name: "a key, not a certificate", pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
		{name: "garbage DER", pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := nodeconfig.CACertHash(bad.pem)
			assert.Error(t, err)
		})
	}
}
