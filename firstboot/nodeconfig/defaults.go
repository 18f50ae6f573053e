package nodeconfig

import (
	"crypto/rand"
	"math/big"
	"strings"
	"time"
)

// Defaults used where the NodeConfig is silent.
const (
	DefaultClusterName   = "kubernetes"
	DefaultServiceSubnet = "10.96.0.0/12"
	DefaultDNSDomain     = "cluster.local"
	DefaultBindPort      = 6443
	// DefaultEncryptionAlgorithm is an init node's key type from
	// Kubernetes 1.31, V1Beta4Minor (see Cluster.EncryptionAlgorithm).
	DefaultEncryptionAlgorithm = "ECDSA-P256"
)

// EncryptionAlgorithms are the key types kubeadm knows, each with the
// Kubernetes minor version that first takes it.
func EncryptionAlgorithms() []struct {
	Name     string
	MinMinor int
} {
	return []struct {
		Name     string
		MinMinor int
	}{{"RSA-2048", 0}, {"RSA-3072", V1Beta4Minor}, {"RSA-4096", V1Beta4Minor}, {"ECDSA-P256", V1Beta4Minor}, {"ECDSA-P384", 34}}
}

// Env is what defaulting reads from the machine: the image's baked
// Kubernetes version and CRI socket, and the host name.
type Env struct {
	KubernetesVersion string
	Hostname          string
}

// SetDefaults fills the fields c leaves empty. A token is generated for
// init when absent.
func SetDefaults(c *NodeConfig, env Env) error {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setD := func(p **Duration, v time.Duration) {
		if *p == nil {
			*p = D(v)
		}
	}
	set(&c.Cluster.KubernetesVersion, env.KubernetesVersion)
	if c.Cluster.KubernetesVersion != "" && !strings.HasPrefix(c.Cluster.KubernetesVersion, "v") {
		c.Cluster.KubernetesVersion = "v" + c.Cluster.KubernetesVersion
	}
	set(&c.Cluster.ClusterName, DefaultClusterName)
	if c.Role == RoleInit {
		set(&c.Cluster.ServiceSubnet, DefaultServiceSubnet)
		set(&c.Cluster.DNSDomain, DefaultDNSDomain)
		if minor, err := Minor(c.Cluster.KubernetesVersion); err == nil && minor >= V1Beta4Minor {
			set(&c.Cluster.EncryptionAlgorithm, DefaultEncryptionAlgorithm)
		}
	}
	set(&c.Node.Name, strings.ToLower(env.Hostname))
	if c.Node.BindPort == 0 {
		c.Node.BindPort = DefaultBindPort
	}
	setD(&c.Timeouts.Runtime, 5*time.Minute)
	setD(&c.Timeouts.ControlPlane, 20*time.Minute)
	setD(&c.Timeouts.ControlPlaneComponentHealthCheck, 10*time.Minute)
	setD(&c.Timeouts.KubeletHealthCheck, 5*time.Minute)
	setD(&c.Timeouts.KubernetesAPICall, 5*time.Minute)
	setD(&c.Timeouts.EtcdAPICall, 10*time.Minute)
	setD(&c.Timeouts.TLSBootstrap, 5*time.Minute)
	setD(&c.Timeouts.Discovery, 5*time.Minute)
	setD(&c.Timeouts.PodCIDR, 5*time.Minute)
	if b := c.CNI.Bridge; b != nil && b.Name == "" {
		b.Name = "cni0"
	}
	if c.Role == RoleInit && c.Bootstrap.Token == "" {
		tok, err := GenerateToken()
		if err != nil {
			return err
		}
		c.Bootstrap.Token = tok
	}
	return nil
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// GenerateToken makes a random bootstrap token [a-z0-9]{6}.[a-z0-9]{16}.
func GenerateToken() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(tokenAlphabet)))
	for i := 0; i < 22; i++ {
		if i == 6 {
			b.WriteByte('.')
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(tokenAlphabet[n.Int64()])
	}
	return b.String(), nil
}
