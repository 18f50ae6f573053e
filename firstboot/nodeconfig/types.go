// Package nodeconfig is the NodeConfig API (kubebake.dev/v1alpha1): what
// kubebake-firstboot needs to turn a booted image into a cluster node. It
// decodes strictly, merges drop-ins, applies defaults and validates with
// field paths. It imports nothing heavy: it is part of a small static binary.
package nodeconfig

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kubebake/kubebake/api"
)

// APIVersion and Kind of a NodeConfig document.
const (
	APIVersion = api.Version
	Kind       = "NodeConfig"
)

// Roles a node can take.
const (
	RoleInit         = "init"
	RoleJoin         = "join"
	RoleControlPlane = "control-plane"
)

// NodeConfig says what a node becomes at first boot.
type NodeConfig struct {
	// APIVersion must be kubebake.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind must be NodeConfig.
	Kind string `json:"kind"`
	// Role is init (the first control-plane node), join (a worker) or
	// control-plane (an extra control-plane node).
	Role string `json:"role"`
	// Cluster describes the cluster the node creates or joins.
	Cluster Cluster `json:"cluster,omitempty"`
	// Bootstrap holds the credentials of the join.
	Bootstrap Bootstrap `json:"bootstrap,omitempty"`
	// Node describes this node.
	Node Node `json:"node,omitempty"`
	// CNI optionally applies a network add-on after init.
	CNI CNI `json:"cni,omitempty"`
	// Hooks run around kubeadm.
	Hooks Hooks `json:"hooks,omitempty"`
	// Timeouts bound the waits.
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// Cluster describes the cluster.
type Cluster struct {
	// ControlPlaneEndpoint is HOST:PORT of the API server (a load balancer
	// or the init node). Required for join and control-plane; for init it
	// defaults to the advertise address and port 6443.
	ControlPlaneEndpoint string `json:"controlPlaneEndpoint,omitempty"`
	// ClusterName defaults to kubernetes.
	ClusterName string `json:"clusterName,omitempty"`
	// KubernetesVersion defaults to the version baked into the image
	// (/etc/kubebake/image.json).
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// PodSubnet is the pod CIDR, e.g. 10.244.0.0/16 (init only).
	PodSubnet string `json:"podSubnet,omitempty"`
	// ServiceSubnet defaults to 10.96.0.0/12 (init only).
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	// DNSDomain defaults to cluster.local (init only).
	DNSDomain string `json:"dnsDomain,omitempty"`
	// EncryptionAlgorithm is the key type of the certificates and keys
	// kubeadm makes for the cluster (init only; kubeadm's
	// ClusterConfiguration.encryptionAlgorithm): RSA-2048, RSA-3072,
	// RSA-4096, ECDSA-P256 (Kubernetes 1.31 on) or ECDSA-P384 (1.34 on).
	// Defaults to ECDSA-P256 from Kubernetes 1.31, where kubeadm's own
	// default is RSA-2048: the fourteen RSA keys of an init cost 12.8 s of
	// a first boot under emulation and 1.2 s on a host core, P-256 keys
	// under a tenth of that. Before 1.31 only RSA-2048 is possible.
	EncryptionAlgorithm string `json:"encryptionAlgorithm,omitempty"`
}

// Bootstrap holds the join credentials. These are secrets: they are written
// only to /etc/kubebake/kubeadm.yaml (mode 0600) and never logged.
type Bootstrap struct {
	// Token is a bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}. Generated for
	// init when absent; required for join and control-plane.
	Token string `json:"token,omitempty"`
	// CACertHashes pin the cluster CA (sha256:<hex>), as kubeadm prints them.
	CACertHashes []string `json:"caCertHashes,omitempty"`
	// CACert is the cluster CA certificate in PEM. A join pins its hash
	// like CACertHashes; init uses it as the cluster CA, with CAKey.
	CACert string `json:"caCert,omitempty"`
	// CAKey is the CA's private key in PEM (init only, with CACert): the
	// cluster is created with a CA chosen up front, so joining nodes can be
	// given its hash before init runs (as Cluster API does). A secret.
	CAKey string `json:"caKey,omitempty"`
	// CertificateKey decrypts the control-plane certificates uploaded by
	// init (64 hex digits). Required for control-plane; for init it is used
	// with UploadCerts.
	CertificateKey string `json:"certificateKey,omitempty"`
	// UploadCerts makes init upload the control-plane certificates for
	// control-plane joins.
	UploadCerts bool `json:"uploadCerts,omitempty"`
	// UnsafeSkipCAVerification joins without pinning the CA. Only when asked
	// for explicitly.
	UnsafeSkipCAVerification bool `json:"unsafeSkipCAVerification,omitempty"`
}

// Node describes this node.
type Node struct {
	// Name defaults to the host name, lower-cased.
	Name string `json:"name,omitempty"`
	// AdvertiseAddress is the IP the API server advertises (init and
	// control-plane) and the kubelet's node IP.
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	// BindPort of the API server, default 6443.
	BindPort int `json:"bindPort,omitempty"`
	// Labels for the node object.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints for the node object. For init and control-plane, leaving it
	// empty keeps kubeadm's control-plane taint; set an empty list in a
	// drop-in to remove it with `taints: []`.
	Taints *[]Taint `json:"taints,omitempty"`
	// Kubelet is extra KubeletConfiguration, merged into kubeadm's through a
	// kubeadm patch (works for init and join).
	Kubelet json.RawMessage `json:"kubelet,omitempty"`
	// IgnorePreflightErrors are kubeadm preflight checks to ignore.
	IgnorePreflightErrors []string `json:"ignorePreflightErrors,omitempty"`
	// Patches are kubeadm patches, applied in order after node.kubelet's:
	// to a control-plane component's static Pod (kube-apiserver,
	// kube-controller-manager, kube-scheduler, etcd: init and
	// control-plane only), the KubeletConfiguration, or CoreDNS's
	// Deployment (init only).
	Patches []Patch `json:"patches,omitempty"`
}

// Patch is one kubeadm patch.
type Patch struct {
	// Target is kube-apiserver, kube-controller-manager, kube-scheduler,
	// etcd, kubeletconfiguration or corednsdeployment.
	Target string `json:"target"`
	// Type is strategic (default), merge or json (RFC 6902, a list of
	// operations).
	Type string `json:"type,omitempty"`
	// Patch is the patch: an object, or for json a list.
	Patch json.RawMessage `json:"patch"`
}

// Taint is a node taint.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// CNI sets up pod networking: a network add-on applied after init, or a
// bridge configuration for this node alone.
type CNI struct {
	// Manifest is an absolute path on the node of a manifest applied with
	// kubectl after init.
	Manifest string `json:"manifest,omitempty"`
	// Bridge writes a CNI configuration for the bridge, host-local and
	// portmap plugins after kubeadm, so the node is Ready with no network
	// add-on to pull. Pods reach each other on the node and the world
	// through the node (masqueraded); pods on different nodes are not routed
	// to each other.
	Bridge *BridgeCNI `json:"bridge,omitempty"`
}

// BridgeCNI is the bridge configuration of one node.
type BridgeCNI struct {
	// Subnet is this node's pod range (a CIDR; for dual stack an IPv4 and
	// an IPv6 CIDR separated by a comma). Default: the node's
	// spec.podCIDR, which the controller manager allocates from the
	// cluster's podSubnet once the node is registered.
	Subnet string `json:"subnet,omitempty"`
	// Name is the Linux bridge, default cni0.
	Name string `json:"name,omitempty"`
}

// Hooks are commands run around kubeadm, each with bash -c.
type Hooks struct {
	Before []Hook `json:"before,omitempty"`
	After  []Hook `json:"after,omitempty"`
}

// Hook is a named command.
type Hook struct {
	Name string `json:"name"`
	Run  string `json:"run"`
}

// Timeouts bound the waits of the run phase.
type Timeouts struct {
	// Runtime is how long to wait for the container runtime's socket
	// (default 5m).
	Runtime *Duration `json:"runtime,omitempty"`
	// ControlPlane is how long a join keeps retrying while the control plane
	// is unreachable (default 20m).
	ControlPlane *Duration `json:"controlPlane,omitempty"`
	// ControlPlaneComponentHealthCheck is kubeadm's wait for the static
	// pods (default 10m; kubeadm's own is 4m, too short for slow hosts).
	ControlPlaneComponentHealthCheck *Duration `json:"controlPlaneComponentHealthCheck,omitempty"`
	// KubeletHealthCheck is kubeadm's wait for the kubelet (default 5m).
	KubeletHealthCheck *Duration `json:"kubeletHealthCheck,omitempty"`
	// KubernetesAPICall bounds each kubeadm API call and its retries
	// (default 5m; kubeadm's own is 1m, which a slow host overruns: init
	// creates the admin ClusterRoleBinding under it while kube-apiserver
	// is still coming up).
	KubernetesAPICall *Duration `json:"kubernetesAPICall,omitempty"`
	// EtcdAPICall bounds kubeadm's etcd calls on init and control-plane
	// joins, among them the wait for a new member to catch up (default
	// 10m; kubeadm's own is 2m, which a slow joining node overruns).
	EtcdAPICall *Duration `json:"etcdAPICall,omitempty"`
	// TLSBootstrap is kubeadm's wait for the kubelet's TLS bootstrap on
	// join (default 5m).
	TLSBootstrap *Duration `json:"tlsBootstrap,omitempty"`
	// Discovery is kubeadm's wait to discover and validate the cluster on
	// join (default 5m).
	Discovery *Duration `json:"discovery,omitempty"`
	// PodCIDR is how long cni.bridge waits for the node's allocated pod
	// range (default 5m).
	PodCIDR *Duration `json:"podCIDR,omitempty"`
}

// Duration is a time.Duration written as a string such as 5m or 90s.
type Duration struct {
	time.Duration
}

// D returns a *Duration.
func D(d time.Duration) *Duration { return &Duration{d} }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as 5m or 90s")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 5m or 90s", s)
	}
	d.Duration = v
	return nil
}
