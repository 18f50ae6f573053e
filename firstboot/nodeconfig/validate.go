package nodeconfig

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	tokenRE     = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	hashRE      = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	certKeyRE   = regexp.MustCompile(`^[a-f0-9]{64}$`)
	versionRE   = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	nodeNameRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	labelNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValRE  = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	hookNameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$`)
	preflightRE = regexp.MustCompile(`^[A-Za-z0-9-]+$|^all$`)
)

// FieldError is one problem at a field path.
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// InvalidError lists every problem of a NodeConfig.
type InvalidError struct {
	Errors []FieldError
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return "invalid NodeConfig: " + strings.Join(msgs, "; ")
}

type validator struct{ errs []FieldError }

func (v *validator) errorf(p, f string, a ...any) {
	v.errs = append(v.errs, FieldError{Path: p, Message: fmt.Sprintf(f, a...)})
}

// Validate checks a defaulted NodeConfig and returns an *InvalidError with
// every problem, or nil. Messages never contain secret values.
func Validate(c *NodeConfig) error {
	v := &validator{}
	if c.APIVersion != APIVersion {
		v.errorf("apiVersion", "must be %q, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != Kind {
		v.errorf("kind", "must be %q, got %q", Kind, c.Kind)
	}
	switch c.Role {
	case RoleInit, RoleJoin, RoleControlPlane:
	default:
		v.errorf("role", "unknown role %q (want init, join or control-plane)", c.Role)
	}
	v.cluster(c)
	v.bootstrap(c)
	v.node(c)
	if m := c.CNI.Manifest; m != "" {
		if !path.IsAbs(m) {
			v.errorf("cni.manifest", "%q must be an absolute path on the node", m)
		}
		if c.Role != RoleInit {
			v.errorf("cni.manifest", "applies to role init only")
		}
	}
	v.bridge(c)
	seen := map[string]bool{}
	for _, list := range []struct {
		name  string
		hooks []Hook
	}{{"before", c.Hooks.Before}, {"after", c.Hooks.After}} {
		for i, h := range list.hooks {
			p := fmt.Sprintf("hooks.%s[%d]", list.name, i)
			if !hookNameRE.MatchString(h.Name) {
				v.errorf(p+".name", "%q must be lower-case letters, digits and '-'", h.Name)
			} else if seen[h.Name] {
				v.errorf(p+".name", "%q is used twice", h.Name)
			}
			seen[h.Name] = true
			if strings.TrimSpace(h.Run) == "" {
				v.errorf(p+".run", "a hook needs a command")
			}
		}
	}
	t := c.Timeouts
	for _, d := range []struct {
		name string
		d    *Duration
	}{
		{"runtime", t.Runtime}, {"controlPlane", t.ControlPlane},
		{"controlPlaneComponentHealthCheck", t.ControlPlaneComponentHealthCheck},
		{"kubeletHealthCheck", t.KubeletHealthCheck}, {"kubernetesAPICall", t.KubernetesAPICall}, {"etcdAPICall", t.EtcdAPICall},
		{"tlsBootstrap", t.TLSBootstrap}, {"discovery", t.Discovery}, {"podCIDR", t.PodCIDR},
	} {
		if d.d != nil && d.d.Duration <= 0 {
			v.errorf("timeouts."+d.name, "must be positive")
		}
	}
	if len(v.errs) > 0 {
		return &InvalidError{Errors: v.errs}
	}
	return nil
}

// bridgeNameRE is a Linux interface name (at most 15 bytes).
var bridgeNameRE = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]{0,14}$`)

func (v *validator) bridge(c *NodeConfig) {
	b := c.CNI.Bridge
	if b == nil {
		return
	}
	if c.CNI.Manifest != "" {
		v.errorf("cni.bridge", "cannot be combined with cni.manifest: a network add-on writes its own configuration")
	}
	if b.Subnet != "" {
		for _, part := range strings.Split(b.Subnet, ",") {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(part)); err != nil {
				v.errorf("cni.bridge.subnet", "%q is not a CIDR such as 10.244.1.0/24", part)
			}
		}
	} else if c.Role == RoleInit && c.Cluster.PodSubnet == "" {
		v.errorf("cni.bridge.subnet", "not set, and cluster.podSubnet is empty, so the controller manager allocates no pod range to take it from")
	}
	if !bridgeNameRE.MatchString(b.Name) {
		v.errorf("cni.bridge.name", "%q is not an interface name (letters, digits, '-', '_', '.'; at most 15)", b.Name)
	}
}

func (v *validator) cluster(c *NodeConfig) {
	cl := c.Cluster
	if cl.KubernetesVersion == "" {
		v.errorf("cluster.kubernetesVersion", "not set, and the image records none in /etc/kubebake/image.json")
	} else if !versionRE.MatchString(cl.KubernetesVersion) {
		v.errorf("cluster.kubernetesVersion", "%q is not a version such as v1.36.3", cl.KubernetesVersion)
	}
	if cl.ControlPlaneEndpoint == "" {
		if c.Role != RoleInit {
			v.errorf("cluster.controlPlaneEndpoint", "required for role %s", c.Role)
		}
	} else if err := hostPort(cl.ControlPlaneEndpoint); err != nil {
		v.errorf("cluster.controlPlaneEndpoint", "%v", err)
	}
	if !dnsLabelRE.MatchString(cl.ClusterName) {
		v.errorf("cluster.clusterName", "%q must be a DNS label", cl.ClusterName)
	}
	for _, s := range []struct{ name, val string }{{"podSubnet", cl.PodSubnet}, {"serviceSubnet", cl.ServiceSubnet}} {
		if s.val == "" {
			continue
		}
		for _, part := range strings.Split(s.val, ",") {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(part)); err != nil {
				v.errorf("cluster."+s.name, "%q is not a CIDR such as 10.244.0.0/16", part)
			}
		}
		if c.Role != RoleInit {
			v.errorf("cluster."+s.name, "applies to role init only (joining nodes take the cluster's)")
		}
	}
	if cl.EncryptionAlgorithm != "" {
		v.encryptionAlgorithm(c)
	}
	if cl.DNSDomain != "" {
		for _, label := range strings.Split(cl.DNSDomain, ".") {
			if !dnsLabelRE.MatchString(label) {
				v.errorf("cluster.dnsDomain", "%q is not a DNS domain", cl.DNSDomain)
				break
			}
		}
	}
}

// encryptionAlgorithm checks cluster.encryptionAlgorithm: a key type
// kubeadm knows, for the Kubernetes version, on the node that makes the
// cluster's keys.
func (v *validator) encryptionAlgorithm(c *NodeConfig) {
	const field = "cluster.encryptionAlgorithm"
	alg := c.Cluster.EncryptionAlgorithm
	if c.Role != RoleInit {
		v.errorf(field, "applies to role init only (joining nodes take the cluster's)")
		return
	}
	var names []string
	for _, a := range EncryptionAlgorithms() {
		names = append(names, a.Name)
		if a.Name != alg {
			continue
		}
		if minor, err := Minor(c.Cluster.KubernetesVersion); err == nil && minor < a.MinMinor {
			v.errorf(field, "%s needs Kubernetes v1.%d or later (kubeadm's v1beta4 configuration), not %s", alg, a.MinMinor, c.Cluster.KubernetesVersion)
		}
		return
	}
	v.errorf(field, "unknown algorithm %q (want one of %s)", alg, strings.Join(names, ", "))
}

func (v *validator) bootstrap(c *NodeConfig) {
	b := c.Bootstrap
	if b.Token == "" {
		if c.Role != RoleInit {
			v.errorf("bootstrap.token", "required for role %s", c.Role)
		}
	} else if !tokenRE.MatchString(b.Token) {
		v.errorf("bootstrap.token", "is not a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}")
	}
	for i, h := range b.CACertHashes {
		if !hashRE.MatchString(h) {
			v.errorf(fmt.Sprintf("bootstrap.caCertHashes[%d]", i), "%q is not sha256:<64 hex digits>", h)
		}
	}
	if b.CACert != "" {
		if _, err := CACertHash(b.CACert); err != nil {
			v.errorf("bootstrap.caCert", "%v", err)
		}
	}
	if c.Role != RoleInit && len(b.CACertHashes) == 0 && b.CACert == "" && !b.UnsafeSkipCAVerification {
		v.errorf("bootstrap.caCertHashes", "a join must pin the cluster CA: give caCertHashes or caCert, or set unsafeSkipCAVerification: true explicitly")
	}
	if b.CAKey != "" {
		switch {
		case c.Role != RoleInit:
			v.errorf("bootstrap.caKey", "applies to role init only")
		case b.CACert == "":
			v.errorf("bootstrap.caKey", "needs bootstrap.caCert, the certificate of the key")
		default:
			if err := keyMatches(b.CACert, b.CAKey); err != nil {
				v.errorf("bootstrap.caKey", "%v", err)
			}
		}
	} else if c.Role == RoleInit && b.CACert != "" {
		v.errorf("bootstrap.caCert", "an init node signs with its CA: give bootstrap.caKey too")
	}
	if b.CertificateKey != "" && !certKeyRE.MatchString(b.CertificateKey) {
		v.errorf("bootstrap.certificateKey", "is not 64 hex digits")
	}
	switch {
	case c.Role == RoleControlPlane && b.CertificateKey == "":
		v.errorf("bootstrap.certificateKey", "required for role control-plane")
	case c.Role == RoleInit && b.UploadCerts && b.CertificateKey == "":
		// kubeadm generates one and prints it; we cannot keep it secret then.
		v.errorf("bootstrap.certificateKey", "required with uploadCerts, so that control-plane joins can be given it")
	case c.Role == RoleJoin && (b.CertificateKey != "" || b.UploadCerts):
		v.errorf("bootstrap", "certificateKey and uploadCerts apply to init and control-plane only")
	}
}

func (v *validator) node(c *NodeConfig) {
	n := c.Node
	if !nodeNameRE.MatchString(n.Name) {
		v.errorf("node.name", "%q must be a lower-case DNS name", n.Name)
	}
	if n.AdvertiseAddress != "" && net.ParseIP(n.AdvertiseAddress) == nil {
		v.errorf("node.advertiseAddress", "%q is not an IP address", n.AdvertiseAddress)
	}
	if n.BindPort < 1 || n.BindPort > 65535 {
		v.errorf("node.bindPort", "%d is not a port", n.BindPort)
	}
	keys := make([]string, 0, len(n.Labels))
	for k := range n.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report in a stable order
	for _, k := range keys {
		val := n.Labels[k]
		p := "node.labels[" + k + "]"
		switch {
		case !labelKey(k):
			v.errorf(p, "%q is not a label key", k)
		case imageLabel(k):
			v.errorf(p, "%q is the image's own label, set from its /etc/kubebake/image.json", k)
		case !KubeletMaySet(k):
			v.errorf(p, "%q: a kubelet may not register its Node with a kubernetes.io or k8s.io label other than its own "+
				"(node.kubernetes.io/, kubelet.kubernetes.io/, topology.kubernetes.io/zone, ...) and would refuse to start; "+
				"set it with kubectl or a controller", k)
		}
		if !labelValRE.MatchString(val) {
			v.errorf(p, "%q is not a label value", val)
		}
	}
	if n.Taints != nil {
		for i, t := range *n.Taints {
			p := fmt.Sprintf("node.taints[%d]", i)
			if !labelKey(t.Key) {
				v.errorf(p+".key", "%q is not a taint key", t.Key)
			}
			if !labelValRE.MatchString(t.Value) {
				v.errorf(p+".value", "%q is not a taint value", t.Value)
			}
			switch t.Effect {
			case "NoSchedule", "PreferNoSchedule", "NoExecute":
			default:
				v.errorf(p+".effect", "%q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
			}
		}
	}
	if len(n.Kubelet) > 0 {
		var m map[string]any
		if err := json.Unmarshal(n.Kubelet, &m); err != nil {
			v.errorf("node.kubelet", "must be a mapping of KubeletConfiguration fields")
		}
		for _, k := range []string{"apiVersion", "kind", "cgroupDriver"} {
			if _, ok := m[k]; ok {
				v.errorf("node.kubelet."+k, "is set by kubebake-firstboot")
			}
		}
	}
	v.patches(c.Role, n.Patches)
	for i, e := range n.IgnorePreflightErrors {
		if !preflightRE.MatchString(e) {
			v.errorf(fmt.Sprintf("node.ignorePreflightErrors[%d]", i), "%q is not a preflight check name", e)
		}
	}
}

// labelKey checks [prefix/]name as Kubernetes does.
func labelKey(k string) bool {
	name := k
	if i := strings.LastIndex(k, "/"); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if len(prefix) > 253 || prefix == "" {
			return false
		}
		for _, l := range strings.Split(prefix, ".") {
			if !dnsLabelRE.MatchString(l) {
				return false
			}
		}
	}
	return labelNameRE.MatchString(name)
}

func hostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q has no valid port", s)
	}
	if net.ParseIP(host) == nil {
		for _, l := range strings.Split(host, ".") {
			if !dnsLabelRE.MatchString(strings.ToLower(l)) {
				return fmt.Errorf("%q has no valid host", s)
			}
		}
	}
	return nil
}

// CACertHash computes kubeadm's CA pin (sha256 of the certificate's
// SubjectPublicKeyInfo) from a PEM certificate.
func CACertHash(pemCert string) (string, error) {
	block, _ := pem.Decode([]byte(pemCert))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", fmt.Errorf("is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("is not a valid certificate: %v", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// keyMatches checks that keyPEM is a private key (PKCS#1, PKCS#8 or EC)
// whose public half is certPEM's, and that the certificate is a CA. Errors
// never quote the key.
func keyMatches(certPEM, keyPEM string) error {
	cb, _ := pem.Decode([]byte(certPEM))
	if cb == nil {
		return fmt.Errorf("bootstrap.caCert is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return fmt.Errorf("bootstrap.caCert is not a valid certificate")
	}
	if !cert.IsCA {
		return fmt.Errorf("bootstrap.caCert is not a CA certificate")
	}
	kb, _ := pem.Decode([]byte(keyPEM))
	if kb == nil {
		return fmt.Errorf("is not a PEM private key")
	}
	var key crypto.Signer
	if k, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return fmt.Errorf("is not a signing key")
		}
		key = s
	} else if k, err := x509.ParsePKCS1PrivateKey(kb.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(kb.Bytes); err == nil {
		key = k
	} else {
		return fmt.Errorf("is not a PKCS#1, PKCS#8 or EC private key")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("is not the key of bootstrap.caCert")
	}
	return nil
}
