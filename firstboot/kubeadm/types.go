package kubeadm

// The kubeadm configuration types kubebake-firstboot writes: small copies of
// the fields it sets, for kubeadm.k8s.io/v1beta3 and v1beta4. Importing
// kubeadm's own types would drag 224 modules into a first-boot binary.

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// arg is a v1beta4 extra argument.
type arg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

type bootstrapToken struct {
	Token  string   `json:"token"`
	TTL    string   `json:"ttl"`
	Usages []string `json:"usages"`
	Groups []string `json:"groups"`
}

type apiEndpoint struct {
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	BindPort         int    `json:"bindPort,omitempty"`
}

type patches struct {
	Directory string `json:"directory"`
}

// nodeRegistration is shared by both versions but for the type of
// kubeletExtraArgs: a map in v1beta3, a list of args in v1beta4.
type nodeRegistration struct {
	Name                  string   `json:"name"`
	CRISocket             string   `json:"criSocket"`
	Taints                *[]taint `json:"taints,omitempty"`
	KubeletExtraArgs      any      `json:"kubeletExtraArgs,omitempty"`
	IgnorePreflightErrors []string `json:"ignorePreflightErrors,omitempty"`
	ImagePullPolicy       string   `json:"imagePullPolicy,omitempty"`
}

type initConfiguration struct {
	typeMeta         `json:",inline"`
	BootstrapTokens  []bootstrapToken `json:"bootstrapTokens,omitempty"`
	NodeRegistration nodeRegistration `json:"nodeRegistration"`
	LocalAPIEndpoint *apiEndpoint     `json:"localAPIEndpoint,omitempty"`
	CertificateKey   string           `json:"certificateKey,omitempty"`
	Patches          *patches         `json:"patches,omitempty"`
	Timeouts         *timeouts        `json:"timeouts,omitempty"`
}

type networking struct {
	PodSubnet     string `json:"podSubnet,omitempty"`
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	DNSDomain     string `json:"dnsDomain,omitempty"`
}

type apiServer struct {
	TimeoutForControlPlane string `json:"timeoutForControlPlane,omitempty"`
}

type clusterConfiguration struct {
	typeMeta             `json:",inline"`
	KubernetesVersion    string     `json:"kubernetesVersion"`
	ClusterName          string     `json:"clusterName"`
	ControlPlaneEndpoint string     `json:"controlPlaneEndpoint,omitempty"`
	Networking           networking `json:"networking"`
	APIServer            *apiServer `json:"apiServer,omitempty"`
	// EncryptionAlgorithm is v1beta4's; v1beta3 has only RSA-2048 keys.
	EncryptionAlgorithm string `json:"encryptionAlgorithm,omitempty"`
}

type kubeletConfiguration struct {
	typeMeta     `json:",inline"`
	CgroupDriver string `json:"cgroupDriver"`
}

type bootstrapTokenDiscovery struct {
	Token                    string   `json:"token"`
	APIServerEndpoint        string   `json:"apiServerEndpoint"`
	CACertHashes             []string `json:"caCertHashes,omitempty"`
	UnsafeSkipCAVerification bool     `json:"unsafeSkipCAVerification,omitempty"`
}

type discovery struct {
	BootstrapToken    bootstrapTokenDiscovery `json:"bootstrapToken"`
	TLSBootstrapToken string                  `json:"tlsBootstrapToken"`
	Timeout           string                  `json:"timeout,omitempty"` // v1beta3
}

type joinControlPlane struct {
	LocalAPIEndpoint apiEndpoint `json:"localAPIEndpoint"`
	CertificateKey   string      `json:"certificateKey"`
}

type joinConfiguration struct {
	typeMeta         `json:",inline"`
	NodeRegistration nodeRegistration  `json:"nodeRegistration"`
	Discovery        discovery         `json:"discovery"`
	ControlPlane     *joinControlPlane `json:"controlPlane,omitempty"`
	Patches          *patches          `json:"patches,omitempty"`
	Timeouts         *timeouts         `json:"timeouts,omitempty"`
}

// timeouts is v1beta4's timeouts block.
type timeouts struct {
	ControlPlaneComponentHealthCheck string `json:"controlPlaneComponentHealthCheck,omitempty"`
	KubeletHealthCheck               string `json:"kubeletHealthCheck,omitempty"`
	KubernetesAPICall                string `json:"kubernetesAPICall,omitempty"`
	EtcdAPICall                      string `json:"etcdAPICall,omitempty"`
	Discovery                        string `json:"discovery,omitempty"`
	TLSBootstrap                     string `json:"tlsBootstrap,omitempty"`
}
