// Package kubeadm renders the kubeadm configuration of a NodeConfig:
// InitConfiguration, ClusterConfiguration and KubeletConfiguration for init,
// JoinConfiguration for join and control-plane, in the kubeadm API version
// the Kubernetes version reads (v1beta4 from 1.31, v1beta3 before).
package kubeadm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// apiVersions maps the first Kubernetes minor of each kubeadm API version,
// newest first.
var apiVersions = []struct {
	fromMinor int
	version   string
}{
	{nodeconfig.V1Beta4Minor, "kubeadm.k8s.io/v1beta4"},
	{0, "kubeadm.k8s.io/v1beta3"},
}

// APIVersionFor returns the kubeadm API version for a Kubernetes version
// such as v1.36.3.
func APIVersionFor(kubernetesVersion string) (string, error) {
	minor, err := nodeconfig.Minor(kubernetesVersion)
	if err != nil {
		return "", err
	}
	for _, a := range apiVersions {
		if minor >= a.fromMinor {
			return a.version, nil
		}
	}
	return "", fmt.Errorf("kubernetes version %q is too old", kubernetesVersion)
}

// Options are what the configuration needs beyond the NodeConfig.
type Options struct {
	// CRISocket is the runtime endpoint, e.g. unix:///run/containerd/containerd.sock.
	CRISocket string
	// PatchesDir holds kubeadm patches (the node.kubelet patch); empty when
	// there are none.
	PatchesDir string
	// Labels are more Node labels, beside node.labels: the image's
	// (nodeconfig.LabelRecipe, ...), whose keys node.labels may not use.
	Labels map[string]string
}

// Render returns the kubeadm configuration for c, a defaulted and valid
// NodeConfig. The result holds secrets: write it with mode 0600.
func Render(c *nodeconfig.NodeConfig, o Options) ([]byte, error) {
	api, err := APIVersionFor(c.Cluster.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	v4 := api == "kubeadm.k8s.io/v1beta4"
	nr := nodeReg(c, o, v4)
	var p *patches
	if o.PatchesDir != "" {
		p = &patches{Directory: o.PatchesDir}
	}
	var docs []any
	switch c.Role {
	case nodeconfig.RoleInit:
		ic := initConfiguration{
			typeMeta: typeMeta{api, "InitConfiguration"},
			BootstrapTokens: []bootstrapToken{{
				Token: c.Bootstrap.Token, TTL: "24h0m0s", Usages: []string{"signing", "authentication"},
				Groups: []string{"system:bootstrappers:kubeadm:default-node-token"},
			}},
			NodeRegistration: nr,
			LocalAPIEndpoint: localEndpoint(c),
			CertificateKey:   c.Bootstrap.CertificateKey,
			Patches:          p,
		}
		cc := clusterConfiguration{
			typeMeta:             typeMeta{api, "ClusterConfiguration"},
			KubernetesVersion:    c.Cluster.KubernetesVersion,
			ClusterName:          c.Cluster.ClusterName,
			ControlPlaneEndpoint: controlPlaneEndpoint(c),
			Networking:           networking{c.Cluster.PodSubnet, c.Cluster.ServiceSubnet, c.Cluster.DNSDomain},
		}
		if v4 {
			cc.EncryptionAlgorithm = c.Cluster.EncryptionAlgorithm
			ic.Timeouts = &timeouts{
				ControlPlaneComponentHealthCheck: c.Timeouts.ControlPlaneComponentHealthCheck.String(),
				KubeletHealthCheck:               c.Timeouts.KubeletHealthCheck.String(),
				KubernetesAPICall:                c.Timeouts.KubernetesAPICall.String(),
				EtcdAPICall:                      c.Timeouts.EtcdAPICall.String(),
			}
		} else {
			cc.APIServer = &apiServer{TimeoutForControlPlane: c.Timeouts.ControlPlaneComponentHealthCheck.String()}
		}
		kc := kubeletConfiguration{typeMeta: typeMeta{"kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"}, CgroupDriver: "systemd"}
		docs = []any{ic, cc, kc}
	default:
		hashes, err := caHashes(c)
		if err != nil {
			return nil, err
		}
		jc := joinConfiguration{
			typeMeta:         typeMeta{api, "JoinConfiguration"},
			NodeRegistration: nr,
			Discovery: discovery{
				BootstrapToken: bootstrapTokenDiscovery{
					Token: c.Bootstrap.Token, APIServerEndpoint: c.Cluster.ControlPlaneEndpoint,
					CACertHashes: hashes, UnsafeSkipCAVerification: c.Bootstrap.UnsafeSkipCAVerification,
				},
				TLSBootstrapToken: c.Bootstrap.Token,
			},
			Patches: p,
		}
		if c.Role == nodeconfig.RoleControlPlane {
			jc.ControlPlane = &joinControlPlane{LocalAPIEndpoint: *localEndpoint(c), CertificateKey: c.Bootstrap.CertificateKey}
		}
		if v4 {
			jc.Timeouts = &timeouts{
				KubeletHealthCheck: c.Timeouts.KubeletHealthCheck.String(),
				KubernetesAPICall:  c.Timeouts.KubernetesAPICall.String(),
				Discovery:          c.Timeouts.Discovery.String(),
				TLSBootstrap:       c.Timeouts.TLSBootstrap.String(),
			}
			if c.Role == nodeconfig.RoleControlPlane {
				jc.Timeouts.ControlPlaneComponentHealthCheck = c.Timeouts.ControlPlaneComponentHealthCheck.String()
				jc.Timeouts.EtcdAPICall = c.Timeouts.EtcdAPICall.String()
			}
		} else {
			jc.Discovery.Timeout = c.Timeouts.Discovery.String()
		}
		docs = []any{jc}
	}
	var out bytes.Buffer
	out.WriteString("# kubeadm configuration written by kubebake-firstboot. It holds secrets: keep it 0600.\n")
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("render kubeadm config: %w", err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

// KubeletPatch returns the kubeadm patch (kubeletconfiguration+merge.json)
// for node.kubelet, or nil when there is none.
func KubeletPatch(c *nodeconfig.NodeConfig) ([]byte, error) {
	if len(c.Node.Kubelet) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(c.Node.Kubelet, &m); err != nil {
		return nil, fmt.Errorf("node.kubelet: %w", err)
	}
	if m == nil {
		// kubelet: null; as a merge patch it would erase the whole
		// KubeletConfiguration.
		return nil, nil
	}
	return json.MarshalIndent(m, "", "  ")
}

// KubeletPatchFile is the patch's file name: target kubeletconfiguration,
// JSON merge patch.
const KubeletPatchFile = "kubeletconfiguration+merge.json"

// PatchFiles returns the kubeadm patch files of c by file name:
// node.kubelet's (KubeletPatchFile) and each of node.patches, named
// TARGETNNN+TYPE.json so that kubeadm, which applies a target's patches in
// the order of their names, applies them in order after node.kubelet's.
func PatchFiles(c *nodeconfig.NodeConfig) (map[string][]byte, error) {
	out := map[string][]byte{}
	kubelet, err := KubeletPatch(c)
	if err != nil {
		return nil, err
	}
	if kubelet != nil {
		out[KubeletPatchFile] = kubelet
	}
	for i, p := range c.Node.Patches {
		var doc any
		if err := json.Unmarshal(p.Patch, &doc); err != nil {
			return nil, fmt.Errorf("node.patches[%d].patch: %w", i, err)
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("%s%03d+%s.json", p.Target, 100+i, nodeconfig.PatchTypeOf(p))] = b
	}
	return out, nil
}

func nodeReg(c *nodeconfig.NodeConfig, o Options, v4 bool) nodeRegistration {
	args := map[string]string{}
	if c.Node.AdvertiseAddress != "" {
		args["node-ip"] = c.Node.AdvertiseAddress
	}
	all := maps.Clone(c.Node.Labels)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, o.Labels)
	if len(all) > 0 {
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(all)) {
			labels = append(labels, k+"="+all[k])
		}
		args["node-labels"] = strings.Join(labels, ",")
	}
	nr := nodeRegistration{
		Name: c.Node.Name, CRISocket: o.CRISocket, IgnorePreflightErrors: c.Node.IgnorePreflightErrors,
		ImagePullPolicy: "IfNotPresent",
	}
	if c.Node.Taints != nil {
		ts := []taint{}
		for _, t := range *c.Node.Taints {
			ts = append(ts, taint(t))
		}
		nr.Taints = &ts
	}
	if len(args) > 0 {
		if v4 {
			names := make([]string, 0, len(args))
			for k := range args {
				names = append(names, k)
			}
			sort.Strings(names)
			list := make([]arg, 0, len(args))
			for _, k := range names {
				list = append(list, arg{k, args[k]})
			}
			nr.KubeletExtraArgs = list
		} else {
			nr.KubeletExtraArgs = args
		}
	}
	return nr
}

func localEndpoint(c *nodeconfig.NodeConfig) *apiEndpoint {
	return &apiEndpoint{AdvertiseAddress: c.Node.AdvertiseAddress, BindPort: c.Node.BindPort}
}

// controlPlaneEndpoint defaults, for init, to the advertise address.
func controlPlaneEndpoint(c *nodeconfig.NodeConfig) string {
	if c.Cluster.ControlPlaneEndpoint != "" || c.Node.AdvertiseAddress == "" {
		return c.Cluster.ControlPlaneEndpoint
	}
	return net.JoinHostPort(c.Node.AdvertiseAddress, strconv.Itoa(c.Node.BindPort))
}

func caHashes(c *nodeconfig.NodeConfig) ([]string, error) {
	hashes := append([]string{}, c.Bootstrap.CACertHashes...)
	if c.Bootstrap.CACert != "" {
		h, err := nodeconfig.CACertHash(c.Bootstrap.CACert)
		if err != nil {
			return nil, fmt.Errorf("bootstrap.caCert: %w", err)
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}
