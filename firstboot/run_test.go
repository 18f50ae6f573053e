package firstboot_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io/fs"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

func TestRunInitSuccess(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	require.NoError(t, n.run())

	assert.Equal(t, []string{
		"bash -c echo first",
		"bash -c echo second",
		"kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs",
		"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml",
		"bash -c echo third",
	}, n.runner.commands(n.root))

	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, "done", s.Phase)
	assert.Empty(t, s.Error)
	assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "post-init=success", "hooks-after=success"}, phaseNames(s))
	assert.Equal(t, 1, s.Attempt)
	assert.Equal(t, "init", s.Role)
	assert.Equal(t, "node-1", s.Node)
	assert.Equal(t, "v1.36.3", s.KubernetesVersion)
	assert.Equal(t, "file /etc/kubebake/node.yaml (written by Ignition or cloud-init)", s.Source)
	assert.Equal(t, time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), s.StartedAt)
	require.NotNil(t, s.FinishedAt)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 1, s.Kubeadm.Attempts)
	assert.Equal(t, 0, s.Kubeadm.ExitCode)
	assert.Contains(t, s.Kubeadm.OutputTail, "<redacted")

	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.True(t, n.exists(firstboot.CAPISentinel))
	assert.False(t, n.exists(firstboot.FailureMarker))
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: SUCCESS"), lines[0])
	assert.Contains(t, lines[0], "init node node-1 created the cluster (Kubernetes v1.36.3)")
	assert.Equal(t, 1, strings.Count(n.log.String(), "kubebake-firstboot: SUCCESS"))

	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.KubeadmConfig))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.AdminConf))
	cfg := n.read(firstboot.KubeadmConfig)
	assert.Contains(t, cfg, cfgToken, "kubeadm.yaml is where the token goes")
	assert.Contains(t, cfg, cfgCertKey)
	assert.Contains(t, n.log.String(), "hook first\nfirst\nkubebake-firstboot: hook second\nsecond\n", "hook output reaches the log")
	assert.Contains(t, n.log.String(), "--certificate-key <redacted>")
	assert.Empty(t, n.clock.waits(), "nothing waited")

	// A second run after success runs nothing and changes nothing.
	before := n.read(firstboot.StatusFile)
	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Empty(t, n.runner.commands(n.root))
	assert.Equal(t, before, n.read(firstboot.StatusFile))
	assert.Len(t, n.consoleLines(), 1)
}

func TestRunInitGeneratedToken(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeConfigHdr+"role: init\n")
	require.NoError(t, n.run())
	m := tokenInConfig.FindStringSubmatch(n.read(firstboot.KubeadmConfig))
	require.NotNil(t, m, "a token was generated")
	assert.NotEqual(t, cfgToken, m[1])
	assert.Equal(t, []string{"kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml"}, n.runner.commands(n.root))
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
	assert.Contains(t, n.log.String(), "Using token: <redacted>")
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		setup     func(f *fakeRunner)
		wantPhase string
		wantErr   string
		wantCmds  []string
		wantWaits []time.Duration
	}{
		{
			name:      "hook before fails",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.failHook = "echo second" },
			wantPhase: "hooks-before",
			wantErr:   "hook second: bash: exit code 3",
			wantCmds:  []string{"bash -c echo first", "bash -c echo second"},
		},
		{
			name:      "hook after fails",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.failHook = "echo third" },
			wantPhase: "hooks-after",
			wantErr:   "hook third",
			wantCmds: []string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs",
				"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml", "bash -c echo third"},
		},
		{
			name:      "kubeadm init fails once, no retry",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.initExit = 1 },
			wantPhase: "kubeadm",
			wantErr:   "kubeadm init failed (exit code 1)",
			wantCmds:  []string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs"},
		},
		{
			name:      "CNI never applies",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.kubectlExit = 1 },
			wantPhase: "post-init",
			wantErr:   "apply CNI manifest /etc/kubebake/cni.yaml: kubectl: exit code 1",
			wantCmds: append([]string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs"},
				repeat("kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml", 6)...),
			wantWaits: repeatD(10*time.Second, 5),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.config)
			tc.setup(n.runner)
			err := n.run()
			require.ErrorIs(t, err, firstboot.ErrFailed)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Equal(t, tc.wantCmds, n.runner.commands(n.root))
			assert.Equal(t, tc.wantWaits, n.clock.waits())
			s := n.status()
			assert.Equal(t, firstboot.ResultFailure, s.Result)
			assert.Equal(t, tc.wantPhase, s.Phase)
			assert.Contains(t, s.Error, tc.wantErr)
			assert.True(t, n.exists(firstboot.FailureMarker))
			assert.False(t, n.exists(firstboot.SuccessMarker))
			assert.False(t, n.exists(firstboot.CAPISentinel))
			lines := n.consoleLines()
			require.Len(t, lines, 1)
			assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: FAILED: "+tc.wantPhase+" phase"), lines[0])
			if tc.wantPhase == "kubeadm" {
				require.NotNil(t, s.Kubeadm)
				assert.Equal(t, 1, s.Kubeadm.ExitCode)
				assert.Contains(t, s.Kubeadm.OutputTail, "Using token: <redacted")
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func repeatD(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestRunInitWithGivenCA(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n" }

	n := newNode(t, nodeConfigHdr+"role: init\nbootstrap:\n  caCert: |\n"+indent(certPEM)+"  caKey: |\n"+indent(keyPEM))
	n.runner.leakFile = firstboot.CAKeyFile
	require.NoError(t, n.run())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
	assert.Equal(t, certPEM, n.read(firstboot.CACertFile))
	assert.Equal(t, keyPEM, n.read(firstboot.CAKeyFile))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.CAKeyFile))
	assert.Equal(t, fs.FileMode(0o644), n.mode(firstboot.CACertFile))
	assert.Contains(t, n.log.String(), "cluster CA from bootstrap.caCert written to /etc/kubernetes/pki/ca.crt")
	for _, line := range strings.Split(strings.TrimSpace(keyPEM), "\n") {
		if !strings.HasPrefix(line, "-----") {
			assert.NotContains(t, n.log.String(), line, "a line of the CA key in the log")
			assert.NotContains(t, n.read(firstboot.StatusFile), line, "a line of the CA key in the status")
		}
	}
}
