//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,Overrides
//go:generate go tool packer-sdc struct-markdown

package kubebake

import (
	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// DefaultExecuteCommand runs each script as root through sudo, the shell
// provisioner's convention.
const DefaultExecuteCommand = "chmod +x {{.Path}}; sudo -n {{.Path}}"

// Config is the kubebake provisioner's configuration.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// A built-in recipe name (such as `ubuntu-24.04-containerd`; `kubebake
	// recipes` lists them) or the path of a recipe file. The provisioner
	// applies exactly the plan `kubebake render` writes for it.
	Recipe string `mapstructure:"recipe" required:"true"`
	// Overrides laid over the recipe before its defaults and validation:
	// the Kubernetes version, the runtime, extra images and the like.
	Overrides Overrides `mapstructure:"overrides"`
	// The command that runs each script on the machine as root; `{{.Path}}`
	// is the uploaded script. Default `chmod +x {{.Path}}; sudo -n {{.Path}}`.
	// Set `chmod +x {{.Path}}; {{.Path}}` when the communicator logs in as
	// root.
	ExecuteCommand string `mapstructure:"execute_command"`
	// A directory on the machine running Packer holding kubeadm, kubelet,
	// kubectl and crictl, for recipes whose Kubernetes source is `local`;
	// it overrides the recipe's `kubernetes.local.dir`.
	KubernetesBinariesDir string `mapstructure:"kubernetes_binaries_dir"`
	// A directory on the machine running Packer holding cri-dockerd, for
	// docker recipes whose cri-dockerd source is `local`.
	CriDockerdDir string `mapstructure:"cri_dockerd_dir"`
	// A directory on the machine running Packer holding the runtime's
	// binaries (crio and pinns, built by hack/cri-o.sh), for recipes whose
	// runtime source is `local`; it overrides the recipe's
	// `runtime.local.dir`.
	RuntimeDir string `mapstructure:"runtime_dir"`
	// The kubebake-firstboot binary to install. By default the plugin uploads
	// the one it carries for the machine's architecture (linux/amd64 or
	// linux/arm64).
	FirstbootBinary string `mapstructure:"firstboot_binary"`
	// Leave the image unsealed: cloud-init state, machine-id, SSH host keys,
	// package caches, logs and shell history stay. Use it when a later
	// provisioner or the builder seals.
	SkipSeal bool `mapstructure:"skip_seal"`
	// Skip the node checks that end the provisioning (modules, sysctls, swap,
	// the runtime and its cgroup driver, crictl RuntimeReady, versions,
	// pre-loaded images and their pins, kubebake-firstboot, kubeadm's
	// preflight). A failing check fails the build.
	SkipChecks bool `mapstructure:"skip_checks"`
	// The directory the plan is staged in on the machine. Default
	// `/var/tmp/kubebake`; it is removed at the end.
	StagingDir string `mapstructure:"staging_dir"`
	// A directory the communicator's user can write to on the machine, for
	// uploads before they move into place as root. Default `/tmp`.
	RemoteTempDir string `mapstructure:"remote_temp_dir"`
	// When set, the rendered plan is also written to this local directory
	// (atomically) when the build runs, as `kubebake render --dest` writes it.
	PlanDir string `mapstructure:"plan_dir"`

	ctx interpolate.Context
}

// Overrides change a recipe for one build. Empty fields leave the recipe's
// value.
type Overrides struct {
	// The Kubernetes version, such as `v1.36.3`.
	KubernetesVersion string `mapstructure:"kubernetes_version"`
	// Where Kubernetes comes from: `packages`, `binaries` or `local`.
	KubernetesSource string `mapstructure:"kubernetes_source"`
	// The container runtime: `containerd`, `cri-o` or `docker`.
	Runtime string `mapstructure:"runtime"`
	// The runtime's package version (the CRI-O minor for cri-o).
	RuntimeVersion string `mapstructure:"runtime_version"`
	// The sandbox (pause) image.
	SandboxImage string `mapstructure:"sandbox_image"`
	// Whether kubeadm's images for the version are pre-loaded.
	PreloadImages *bool `mapstructure:"preload_images"`
	// More images to pre-load: `name:tag` or `name:tag@sha256:...` (the
	// digest is checked after the pull).
	ExtraImages []string `mapstructure:"extra_images"`
	// More distribution packages to install.
	Packages []string `mapstructure:"packages"`
	// More kernel modules to load now and at boot.
	KernelModules []string `mapstructure:"kernel_modules"`
	// More sysctls, merged with the recipe's.
	Sysctls map[string]string `mapstructure:"sysctls"`
}
