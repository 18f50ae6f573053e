// Package cluster boots a kubeadm cluster from one kubebake image on
// this machine, with nothing leaving it: one QEMU process per node, all on a
// private layer-2 link (QEMU's stream netdev to a hub on a unix socket, see
// Hub; no host bridge), each given a NodeConfig and static addresses through its own
// NoCloud seed. It waits for every node's kubebake-firstboot result and for
// the init node's view of the cluster, and reports the figures.
package cluster

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/userdata"
)

//go:embed templates
var templates embed.FS

// Node is one machine of the cluster.
type Node struct {
	// Name is the host and node name.
	Name string
	// Role is init, join or control-plane.
	Role string
	// IP is the node's address on the private link (a /24).
	IP string
	// MAC and UUID give the machine its own identity.
	MAC, UUID string
	// UplinkMAC, when set, adds a second network card on QEMU's user
	// network (DHCP, the default route and name server): the link then
	// carries only its /24.
	UplinkMAC string
	// MemoryMiB and SMP (virtual CPUs, default 2) of the machine.
	MemoryMiB, SMP int
	// PowerCut, when set, is a regular expression: the first time the
	// node's console matches it, the machine is reset as by a power cut
	// (QMP system_reset: what the guest had not yet written to its disk
	// is lost) and boots again.
	PowerCut string
}

// Power-cut points (Node.PowerCut): kubeadm's console lines half way
// through its work.
const (
	// PowerCutInit: kubeadm init has written the certificates, kubeconfigs
	// and static Pod manifests and started the kubelet (and with it etcd),
	// and waits for the API server.
	PowerCutInit = `\[control-plane-check\] Checking kube-apiserver`
	// PowerCutJoin: kubeadm join has written the kubelet's configuration,
	// started it, and waits for its TLS bootstrap.
	PowerCutJoin = `\[kubelet-start\] Waiting for the kubelet to perform the TLS Bootstrap`
)

// Secrets are what the nodes share, chosen before any of them boots: the
// bootstrap token and the cluster CA (whose hash the joins pin).
type Secrets struct {
	Token  string
	CACert string
	CAKey  string
	CAHash string
	// CertificateKey encrypts the control-plane certificates init uploads
	// for control-plane joins (64 hex digits).
	CertificateKey string
}

// NewSecrets makes a bootstrap token and a cluster CA as kubeadm would
// (RSA 2048, CN kubernetes, ten years).
func NewSecrets() (Secrets, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Secrets{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Secrets{}, err
	}
	s := Secrets{
		CACert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		CAKey:  string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
	}
	if s.CAHash, err = nodeconfig.CACertHash(s.CACert); err != nil {
		return Secrets{}, err
	}
	s.Token = randomString(6) + "." + randomString(16)
	certKey := make([]byte, 32)
	if _, err := rand.Read(certKey); err != nil {
		return Secrets{}, err
	}
	s.CertificateKey = hex.EncodeToString(certKey)
	return s, nil
}

func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// Cluster settings shared by the NodeConfigs.
type Cluster struct {
	// PodSubnet is the cluster's pod range; each node's bridge takes the
	// range the controller manager allocates it from there.
	PodSubnet string
	// Timeouts are raised for TCG guests. TLSBootstrap is the joins' wait
	// for the kubelet's TLS bootstrap, which a control-plane join reaches
	// only after its etcd member was added, so it must not run out while
	// the control plane recovers (zero: firstboot's default). PodCIDR is
	// the bridge's wait for the node's pod range, which the controller
	// manager allocates: under TCG on a busy host it restarts when its
	// leader lease lapses, and the range can come minutes late.
	ControlPlaneHealth, KubeletHealth, ControlPlane, TLSBootstrap, PodCIDR time.Duration
}

// NodeConfig returns n's NodeConfig document: the init node creates the
// cluster with the shared CA and token; the others join it at the init
// node's address, pinning the CA. With control-plane nodes among them
// (controlPlanes true), the init node names its own address as the
// cluster's control-plane endpoint and uploads the control-plane
// certificates under the shared certificate key. Every node writes a
// bridge CNI configuration over its allocated pod range.
func NodeConfig(n Node, initNode Node, controlPlanes bool, c Cluster, s Secrets) ([]byte, error) {
	cfg := nodeconfig.NodeConfig{
		APIVersion: nodeconfig.APIVersion, Kind: nodeconfig.Kind, Role: n.Role,
		Bootstrap: nodeconfig.Bootstrap{Token: s.Token},
		Node: nodeconfig.Node{
			Name: n.Name, AdvertiseAddress: n.IP,
			// A 2 GiB TCG guest: kubeadm's preflight wants 1.7 GiB free.
			IgnorePreflightErrors: []string{"Mem"},
		},
		CNI: nodeconfig.CNI{Bridge: &nodeconfig.BridgeCNI{}},
		Timeouts: nodeconfig.Timeouts{
			ControlPlaneComponentHealthCheck: nodeconfig.D(c.ControlPlaneHealth),
			KubeletHealthCheck:               nodeconfig.D(c.KubeletHealth),
			ControlPlane:                     nodeconfig.D(c.ControlPlane),
		},
	}
	if c.TLSBootstrap > 0 {
		cfg.Timeouts.TLSBootstrap = nodeconfig.D(c.TLSBootstrap)
	}
	if c.PodCIDR > 0 {
		cfg.Timeouts.PodCIDR = nodeconfig.D(c.PodCIDR)
	}
	endpoint := net.JoinHostPort(initNode.IP, "6443")
	switch n.Role {
	case nodeconfig.RoleInit, nodeconfig.RoleControlPlane:
		cfg.Node.Patches = SlowControlPlane()
	}
	switch n.Role {
	case nodeconfig.RoleInit:
		cfg.Cluster.PodSubnet = c.PodSubnet
		cfg.Bootstrap.CACert, cfg.Bootstrap.CAKey = s.CACert, s.CAKey
		if controlPlanes {
			cfg.Cluster.ControlPlaneEndpoint = endpoint
			cfg.Bootstrap.UploadCerts, cfg.Bootstrap.CertificateKey = true, s.CertificateKey
		}
	case nodeconfig.RoleControlPlane:
		cfg.Bootstrap.CertificateKey = s.CertificateKey
		fallthrough
	default:
		cfg.Cluster.ControlPlaneEndpoint = endpoint
		cfg.Bootstrap.CACertHashes = []string{s.CAHash}
	}
	return yaml.Marshal(cfg)
}

// SlowControlPlane are the kubeadm patches that let a control plane live
// under TCG on a busy host (about 15 times slower than the host itself):
// kubeadm's liveness probes give each component 80 seconds before the
// kubelet kills it, and the controller manager and scheduler give up
// their leader leases when a renewal takes 10 seconds. Once one restarts,
// the restart's own load starves the others, and the control plane never
// settles. The probes get 20 minutes, the leases a minute.
func SlowControlPlane() []nodeconfig.Patch {
	probe := func(name string) nodeconfig.Patch {
		return nodeconfig.Patch{Target: name, Patch: []byte(`{"spec":{"containers":[{"name":"` + name +
			`","livenessProbe":{"failureThreshold":40,"timeoutSeconds":30}}]}}`)}
	}
	lease := func(name string) nodeconfig.Patch {
		return nodeconfig.Patch{Target: name, Type: nodeconfig.PatchJSON, Patch: []byte(`[` +
			`{"op":"add","path":"/spec/containers/0/command/-","value":"--leader-elect-lease-duration=60s"},` +
			`{"op":"add","path":"/spec/containers/0/command/-","value":"--leader-elect-renew-deadline=45s"},` +
			`{"op":"add","path":"/spec/containers/0/command/-","value":"--leader-elect-retry-period=5s"}]`)}
	}
	return []nodeconfig.Patch{
		probe("etcd"), probe("kube-apiserver"),
		probe("kube-controller-manager"), lease("kube-controller-manager"),
		probe("kube-scheduler"), lease("kube-scheduler"),
	}
}

// NetworkConfig is n's cloud-init network-config (version 2): its address
// on the link, matched by MAC, and a default route and a name server at an
// address no one has (kube-apiserver and kubelet want a default route,
// CoreDNS an upstream; nothing leaves the link).
func NetworkConfig(n Node) ([]byte, error) {
	ip := net.ParseIP(n.IP).To4()
	if ip == nil {
		return nil, fmt.Errorf("node %s: %q is not an IPv4 address", n.Name, n.IP)
	}
	gw := net.IPv4(ip[0], ip[1], ip[2], 1).String()
	if gw == n.IP {
		return nil, fmt.Errorf("node %s: %s is the link's gateway address", n.Name, n.IP)
	}
	link := map[string]any{
		"match": map[string]string{"macaddress": strings.ToLower(n.MAC)},
		// cloud-init's networkd renderer matches the name too: rename the
		// interface to it.
		"set-name":  "link0",
		"addresses": []string{n.IP + "/24"},
	}
	ethernets := map[string]any{"link0": link}
	if n.UplinkMAC == "" {
		link["routes"] = []map[string]string{{"to": "0.0.0.0/0", "via": gw}}
		// CoreDNS will not start without an upstream server in
		// resolv.conf; this one never answers.
		link["nameservers"] = map[string][]string{"addresses": {gw}}
	} else {
		ethernets["uplink0"] = map[string]any{
			"match":    map[string]string{"macaddress": strings.ToLower(n.UplinkMAC)},
			"set-name": "uplink0",
			"dhcp4":    true,
		}
	}
	return yaml.Marshal(map[string]any{"version": 2, "ethernets": ethernets})
}

// reportData fills report.sh.tmpl.
type reportData struct {
	Node        string
	Init        bool
	Nodes       int
	WaitSeconds int
}

// ReportScript is the script each node runs from its user data to report
// on its second serial port; on the init node it waits up to wait for
// nodes Ready nodes and every kube-system pod.
func ReportScript(n Node, nodes int, wait time.Duration) ([]byte, error) {
	t, err := template.New("report.sh.tmpl").Funcs(template.FuncMap{"q": shell.Quote}).ParseFS(templates, "templates/report.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, reportData{Node: n.Name, Init: n.Role == nodeconfig.RoleInit, Nodes: nodes, WaitSeconds: int(wait.Seconds())})
	return b.Bytes(), err
}

// Bundle disks: the label of the file system and where it is mounted.
const (
	BundleLabel = "kbbundle"
	BundleStage = "/run/kubebake-bundle"
)

// InstallScript is the script a node that is not baked runs first: it
// applies the bundle (see apply.WriteBundle) and starts kubebake-firstboot.
func InstallScript(n Node) ([]byte, error) {
	t, err := template.New("install.sh.tmpl").Funcs(template.FuncMap{"q": shell.Quote}).ParseFS(templates, "templates/install.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct{ Node, Stage, Label string }{n.Name, BundleStage, BundleLabel})
	return b.Bytes(), err
}

// UserData is n's user data: its NodeConfig, the install script when
// given, the report script, the rollout script when given, and extra
// parts (TimelinePart). cloud-init runs the scripts in the order
// of their names, once per instance; with everyBoot the report is a
// boothook instead, which runs on every boot (a node that is power-cut
// boots twice and must report after the second).
func UserData(nodeConfig, install, rollout, report []byte, everyBoot bool, extra ...userdata.Part) ([]byte, error) {
	parts := []userdata.Part{}
	if install != nil {
		parts = append(parts, userdata.Part{ContentType: `text/x-shellscript; charset="utf-8"`, Filename: "kubebake-e2e-0-install.sh", Content: install})
	}
	if everyBoot {
		hook, err := boothook("report", report)
		if err != nil {
			return nil, err
		}
		parts = append(parts, userdata.Part{ContentType: `text/cloud-boothook; charset="utf-8"`, Filename: "kubebake-e2e-1-report-boothook.sh", Content: hook})
	} else {
		parts = append(parts, userdata.Part{ContentType: `text/x-shellscript; charset="utf-8"`, Filename: "kubebake-e2e-1-report.sh", Content: report})
	}
	if rollout != nil {
		parts = append(parts, userdata.Part{ContentType: `text/x-shellscript; charset="utf-8"`, Filename: "kubebake-e2e-2-rollout.sh", Content: rollout})
	}
	return userdata.MIME(nodeConfig, append(parts, extra...)...)
}

// reportDelimiter ends the script's here-document in a boothook.
const reportDelimiter = "KUBEBAKE_E2E_REPORT_END"

// boothook wraps a script in a boothook that writes it to
// /run/kubebake-e2e-NAME.sh and starts it in the background, as the
// transient unit kubebake-e2e-NAME, on every boot.
func boothook(name string, script []byte) ([]byte, error) {
	if !bytes.HasSuffix(script, []byte("\n")) || bytes.Contains(script, []byte("\n"+reportDelimiter+"\n")) {
		return nil, fmt.Errorf("the %s script must end with a newline and hold no line %s", name, reportDelimiter)
	}
	t, err := template.ParseFS(templates, "templates/boothook.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct{ Name, Script, Delimiter string }{name, string(script), reportDelimiter})
	return b.Bytes(), err
}

// TimelinePart is the user-data part that starts make bench-boot's
// timeline script (package timeline) at boot, in the background: a
// boothook, so that it runs outside cloud-init's stages and the boot's
// own jobs, whose end it waits for.
func TimelinePart(o timeline.ScriptOptions) (userdata.Part, error) {
	script, err := timeline.Script(o)
	if err != nil {
		return userdata.Part{}, err
	}
	hook, err := boothook("timeline", script)
	if err != nil {
		return userdata.Part{}, err
	}
	return userdata.Part{ContentType: `text/cloud-boothook; charset="utf-8"`, Filename: "kubebake-e2e-3-timeline-boothook.sh", Content: hook}, nil
}
