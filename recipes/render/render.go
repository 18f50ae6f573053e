package render

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/recipes"
)

// Renderer renders recipes to plans. It holds the parsed templates; make one
// with New and reuse it.
type Renderer struct {
	t *templates
}

// New parses the embedded templates.
func New() (*Renderer, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Renderer{t: t}, nil
}

// Render turns a loaded, valid recipe into a plan. It does no I/O.
func (rn *Renderer) Render(l *recipes.Loaded) (*Plan, error) {
	if l == nil || l.Recipe == nil {
		return nil, fmt.Errorf("render: no recipe")
	}
	if l.Report.IsFatal() {
		return nil, &recipes.InvalidError{Report: l.Report}
	}
	r := l.Recipe
	dd, err := derive(r, l.Facts)
	if err != nil {
		return nil, err
	}
	b := &builder{t: rn.t, d: dd, plan: &Plan{
		APIVersion: api.Version, Kind: "Plan", Recipe: r.Metadata.Name, Family: dd.F.Name, Base: r.Base,
		Kubernetes: Kubernetes{
			Version: dd.K8s.Version, Source: r.Kubernetes.Source, Origin: k8sOrigin(r, dd), CrictlVersion: r.Kubernetes.CrictlVersion,
			CNIPlugins: r.Kubernetes.CNIPlugins.Source,
		},
		Runtime: dd.Runtime.Runtime,
		Images:  dd.Images,
	}}
	for _, w := range l.Report.Warnings() {
		b.plan.Warnings = append(b.plan.Warnings, w.String())
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	if dd.F.Ignition {
		if err := b.butane(); err != nil {
			return nil, err
		}
	}
	if b.plan.Images == nil {
		b.plan.Images = []api.Image{}
	}
	return b.plan, nil
}

// builder accumulates the files and steps of one plan.
type builder struct {
	t     *templates
	d     *data
	plan  *Plan
	err   error
	files map[string]bool
	// info is image.json, written once the plan is complete
	// (finishImageJSON).
	info *api.ImageInfo
}

// file renders a file template and adds the file.
func (b *builder) file(path, tmpl, mode string) string {
	if b.err != nil {
		return path
	}
	content, err := execute(b.t.files, tmpl, b.d)
	if err != nil {
		b.err = err
		return path
	}
	return b.raw(path, content, mode, "root:root")
}

// raw adds a file with the given content.
func (b *builder) raw(path string, content []byte, mode, owner string) string {
	if b.files == nil {
		b.files = map[string]bool{}
	}
	if b.files[path] {
		b.err = fmt.Errorf("render: %s is placed twice (node.files may not replace a file kubebake renders)", path)
		return path
	}
	b.files[path] = true
	user, group, ok := strings.Cut(owner, ":")
	if !ok {
		group = user
	}
	if len(mode) == 3 {
		mode = "0" + mode
	}
	sum := sha256.Sum256(content)
	b.plan.Files = append(b.plan.Files, File{
		Path: path, Mode: mode, Owner: user, Group: group,
		Size: len(content), SHA256: hex.EncodeToString(sum[:]), Content: content,
	})
	return path
}

// step renders a step template and adds the step, which places files.
func (b *builder) step(name, desc, tmpl string, files ...string) {
	if b.err != nil {
		return
	}
	body, err := execute(b.t.steps, tmpl, b.d)
	if err != nil {
		b.err = err
		return
	}
	b.script(name, desc, body, files)
}

// script adds a step from a script body.
func (b *builder) script(name, desc string, body []byte, files []string) {
	n := len(b.plan.Steps) + 1
	var s strings.Builder
	fmt.Fprintf(&s, "#!/usr/bin/env bash\n# kubebake step %02d-%s: %s\n", n, name, desc)
	fmt.Fprintf(&s, "# Rendered from recipe %s. Safe to run more than once.\n", b.d.R.Metadata.Name)
	s.WriteString("set -euo pipefail\n")
	s.WriteString("KUBEBAKE_STAGE=\"${KUBEBAKE_STAGE:-" + Stage + "}\"\n")
	if !b.d.F.Ignition && len(files) > 0 {
		s.WriteString("\n# Files this step places.\n")
		for _, p := range files {
			f := b.lookup(p)
			fmt.Fprintf(&s, "install -D -m %s -o %s -g %s \"$KUBEBAKE_STAGE/rootfs\"%s %s\n",
				f.Mode, shell.Quote(f.Owner), shell.Quote(f.Group), shell.Quote(p), shell.Quote(p))
		}
	}
	s.WriteString(strings.TrimLeft(strings.TrimRight(string(body), "\n")+"\n", "\n"))
	if !b.d.F.Ignition && len(files) > 0 {
		// Packages installed after our files leave their own defaults beside
		// them; ours are the ones in force, so drop those copies.
		s.WriteString("\n# The package's default copies of the files above are not in force.\n")
		for _, p := range files {
			q := shell.Quote(p)
			fmt.Fprintf(&s, "rm -f %s.dpkg-dist %s.dpkg-new %s.rpmnew\n", q, q, q)
		}
	}
	b.plan.Steps = append(b.plan.Steps, Step{
		Name: name, Description: desc, Script: fmt.Sprintf("steps/%02d-%s.sh", n, name), Files: files,
		Body: []byte(s.String()),
	})
}

func (b *builder) lookup(path string) File {
	for _, f := range b.plan.Files {
		if f.Path == path {
			return f
		}
	}
	return File{Mode: "0644", Owner: "root", Group: "root"}
}

// build adds every step in order.
func (b *builder) build() error {
	d := b.d
	r := d.R
	steps := !d.F.Ignition
	for _, h := range r.Hooks.Before {
		b.script("hook-"+h.Name, "user hook (before)", []byte(h.Run), nil)
	}
	if steps {
		b.step("prepare", "Install the tools kubeadm and the steps need.", "prepare.sh.tmpl")
	}
	b.step("kernel-modules", "Load the kernel modules Kubernetes needs, now and on every boot.", "kernel-modules.sh.tmpl",
		b.file("/etc/modules-load.d/kubernetes.conf", "modules-load.conf.tmpl", "0644"))
	b.step("sysctls", "Set the sysctls Kubernetes needs, now and on every boot.", "sysctls.sh.tmpl",
		b.file(d.SysctlFile, "sysctl.conf.tmpl", "0644"))
	var swapFiles []string
	if d.F.ZramSwap {
		swapFiles = append(swapFiles, b.raw("/etc/systemd/zram-generator.conf", []byte("# Swap on zram is off: kubelet wants no swap. Rendered by kubebake.\n"), "0644", "root:root"))
	}
	if recipes.Bool(r.Node.DisableSwap, true) {
		b.step("swap", "Turn swap off, now and for good.", "swap.sh.tmpl", swapFiles...)
	}
	if repos := b.repoFiles(); len(repos) > 0 && steps {
		b.step("repositories", "Add the package repositories of Kubernetes and the runtime.", "repositories.sh.tmpl", repos...)
	}
	if !steps && len(d.LayerPackages) > 0 {
		b.step("layer", "Layer the runtime and Kubernetes packages with rpm-ostree.", "layer.sh.tmpl")
	}
	b.step("runtime", "Install and configure the "+r.Runtime.Kind+" runtime with the systemd cgroup driver.", "runtime.sh.tmpl", b.runtimeFiles()...)
	b.step("kubernetes", "Install kubelet, kubeadm, kubectl and crictl "+d.K8s.Version+".", "kubernetes.sh.tmpl", b.kubeletFiles()...)
	if src := r.Kubernetes.CNIPlugins.Source; src == recipes.SourceBinaries || (src == recipes.SourceDistro && steps) {
		b.step("cni-plugins", "Put the CNI plugins in /opt/cni/bin.", "cni-plugins.sh.tmpl")
	}
	if d.F.SELinux != "" && r.Node.SELinux != "" {
		b.step("selinux", "Set SELinux to "+r.Node.SELinux+".", "selinux.sh.tmpl")
	}
	if r.Node.Firewall.Mode != "unmanaged" && steps {
		b.step("firewall", "Firewall: "+r.Node.Firewall.Mode+".", "firewall.sh.tmpl")
	}
	if len(r.Node.Packages) > 0 && steps {
		b.step("packages", "Install the recipe's extra packages.", "packages.sh.tmpl")
	}
	if len(r.Node.Files) > 0 {
		var paths []string
		for _, f := range r.Node.Files {
			content := []byte(f.Content)
			if f.Encoding == "base64" {
				content, _ = base64.StdEncoding.DecodeString(f.Content)
			}
			paths = append(paths, b.raw(f.Path, content, f.Mode, f.Owner))
		}
		b.step("files", "Place the recipe's extra files.", "files.sh.tmpl", paths...)
	}
	if len(d.Images) > 0 || len(d.ImageArchives) > 0 {
		what := fmt.Sprintf("Pre-load %d images into %s.", len(d.Images), r.Runtime.Kind)
		if len(d.ImageArchives) > 0 {
			what = fmt.Sprintf("Import %d image archives and pre-load %d images into %s.", len(d.ImageArchives), len(d.Images), r.Runtime.Kind)
		}
		b.step("images", what, "images.sh.tmpl")
	}
	b.imageJSON()
	if recipes.Bool(r.Firstboot.Enabled, true) {
		b.step("firstboot", "Install and enable kubebake-firstboot.", "firstboot.sh.tmpl",
			b.file("/etc/systemd/system/kubebake-firstboot.service", "kubebake-firstboot.service.tmpl", "0644"),
			api.ImageInfoPath)
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: "kubebake-firstboot", Mode: "0755"})
	}
	for _, h := range r.Hooks.After {
		b.script("hook-"+h.Name, "user hook (after)", []byte(h.Run), nil)
	}
	if recipes.Bool(r.Seal.Enabled, true) {
		var sealFiles []string
		if !d.F.Ignition {
			sealFiles = append(sealFiles, b.file(SSHKeysCloudConfig, "cloud-ssh-keys.cfg.tmpl", "0644"))
		}
		b.step("seal", "Generalize the image: cloud-init, machine-id, SSH host keys, caches, logs, history.", "seal.sh.tmpl", sealFiles...)
	}
	b.inputs()
	b.plan.Packages = b.packageList()
	if steps {
		b.plan.Scratch = d.F.Caches
	}
	b.finishImageJSON()
	return b.err
}

// SSHKeysCloudConfig is the cloud-init drop-in that names the SSH host key
// types made at first boot (node.sshHostKeyTypes), after the seal step has
// removed the bake's keys.
const SSHKeysCloudConfig = "/etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg"

// repoFiles adds the repository definitions in use.
func (b *builder) repoFiles() []string {
	d := b.d
	r := d.R
	var out []string
	apt := d.F.RepoFormat == "deb"
	if r.Kubernetes.Source == recipes.SourcePackages {
		if apt {
			key, _ := k8sRepoKey(r, d.K8s.Minor, "deb")
			out = append(out, b.raw("/etc/apt/sources.list.d/kubernetes.list", []byte(fmt.Sprintf(
				"deb [signed-by=%s] %s /\n", key.Path, k8sRepoURL(r, d.K8s.Minor, "deb"))), "0644", "root:root"))
		} else {
			key, staged := k8sRepoKey(r, d.K8s.Minor, "rpm")
			gpgkey := key.URL
			if staged {
				gpgkey = "file://" + key.Path
			}
			// dnf holds the packages with exclude= (the install passes
			// --disableexcludes). rpm-ostree has no such flag but honours
			// exclude= (libdnf), so it would find nothing to layer; its
			// layered requests name the exact version, which holds them.
			hold := "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n"
			if d.F.Ignition {
				hold = ""
			}
			out = append(out, b.raw("/etc/yum.repos.d/kubernetes.repo", []byte(fmt.Sprintf(
				"[kubernetes]\nname=Kubernetes v%s\nbaseurl=%s\nenabled=1\ngpgcheck=1\ngpgkey=%s\n%s",
				d.K8s.Minor, k8sRepoURL(r, d.K8s.Minor, "rpm"), gpgkey, hold)), "0644", "root:root"))
		}
	}
	if r.Runtime.Source != recipes.SourceUpstream {
		return out
	}
	switch d.Kind.UpstreamRepo {
	case repoCRIO:
		if apt {
			out = append(out, b.raw("/etc/apt/sources.list.d/cri-o.list", []byte(fmt.Sprintf(
				"deb [signed-by=/etc/apt/keyrings/cri-o-apt-keyring.asc] %s /\n", crioRepoURL(r.Runtime.Version, "deb"))), "0644", "root:root"))
		} else {
			base := crioRepoURL(r.Runtime.Version, "rpm")
			out = append(out, b.raw("/etc/yum.repos.d/cri-o.repo", []byte(fmt.Sprintf(
				"[cri-o]\nname=CRI-O v%s\nbaseurl=%s\nenabled=1\ngpgcheck=1\ngpgkey=%srepodata/repomd.xml.key\n",
				r.Runtime.Version, base, base)), "0644", "root:root"))
		}
	case repoDocker:
		if apt {
			out = append(out, b.raw("/etc/apt/sources.list.d/docker.list", []byte(fmt.Sprintf(
				"deb [arch=%s signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/%s %s stable\n",
				r.Base.Arch, d.D.DockerRepo, d.D.Codename)), "0644", "root:root"))
		} else {
			out = append(out, b.raw("/etc/yum.repos.d/docker-ce.repo", []byte(
				"[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable\nenabled=1\ngpgcheck=1\ngpgkey=https://download.docker.com/linux/centos/gpg\n"),
				"0644", "root:root"))
		}
	}
	return out
}

// vethLink is the systemd.link file that keeps pods' veth MAC addresses.
const vethLink = "/etc/systemd/network/50-kubebake-veth.link"

// runtimeFiles adds the runtime's configuration: the files of its entry
// in runtimeFileSets, and the pods' veth link file, whatever the runtime.
func (b *builder) runtimeFiles() []string {
	files, ok := b.runtimeFileSets()[b.d.Kind.Name]
	if !ok {
		b.err = fmt.Errorf("render: no files for runtime %s", b.d.Kind.Name)
		return nil
	}
	return append(files(), b.file(vethLink, "veth.link.tmpl", "0644"))
}

// runtimeFileSets holds, per runtime kind, what renders its files; a new
// runtime adds its entry here and its templates.
func (b *builder) runtimeFileSets() map[string]func() []string {
	return map[string]func() []string{
		recipes.RuntimeContainerd: func() []string {
			out := []string{b.containerdConfig()}
			for _, m := range b.d.Mirrors {
				content, err := execute(b.t.files, "containerd-hosts.toml.tmpl", m)
				if err != nil {
					b.err = err
					continue
				}
				out = append(out, b.raw("/etc/containerd/certs.d/"+m.Registry+"/hosts.toml", content, "0644", "root:root"))
			}
			return out
		},
		recipes.RuntimeCRIO: func() []string {
			out := []string{b.file("/etc/crio/crio.conf.d/10-kubebake.conf", "crio.conf.tmpl", "0644")}
			if b.d.Runtime.Local() {
				// CRI-O's packages bring the unit; a local crio needs it.
				out = append(out, b.file("/etc/systemd/system/crio.service", "crio.service.tmpl", "0644"))
			}
			if len(b.d.Mirrors) > 0 {
				out = append(out, b.file("/etc/containers/registries.conf.d/10-kubebake-mirrors.conf", "registries.conf.tmpl", "0644"))
			}
			if b.d.RuntimeDropIn != "" {
				out = append(out, b.raw(b.d.RuntimeDropIn, []byte(b.d.R.Runtime.Config), "0644", "root:root"))
			}
			return out
		},
		recipes.RuntimeDocker: func() []string {
			return []string{
				b.raw("/etc/docker/daemon.json", b.daemonJSON(), "0644", "root:root"),
				b.file("/etc/systemd/system/cri-docker.service", "cri-docker.service.tmpl", "0644"),
				b.file("/etc/systemd/system/cri-docker.socket", "cri-docker.socket.tmpl", "0644"),
			}
		},
	}
}

// daemonJSON renders Docker's daemon.json with the user's drop-in merged.
func (b *builder) daemonJSON() []byte {
	r := b.d.R
	cfg := map[string]any{}
	if strings.TrimSpace(r.Runtime.Config) != "" {
		_ = json.Unmarshal([]byte(r.Runtime.Config), &cfg) // validated
	}
	cfg["exec-opts"] = []string{"native.cgroupdriver=systemd"}
	setDefault := func(k string, v any) {
		if _, ok := cfg[k]; !ok {
			cfg[k] = v
		}
	}
	setDefault("log-driver", "json-file")
	setDefault("log-opts", map[string]string{"max-size": "100m"})
	setDefault("storage-driver", "overlay2")
	for _, m := range b.d.Mirrors {
		if m.Registry != "docker.io" {
			continue
		}
		var urls []string
		for _, e := range m.Endpoints {
			urls = append(urls, e.URL)
		}
		cfg["registry-mirrors"] = urls
	}
	out, _ := json.MarshalIndent(cfg, "", "  ")
	return append(out, '\n')
}

// KubeletWaitConfigDropIn is the kubelet unit's drop-in that keeps it from
// starting before kubeadm has written its configuration.
const KubeletWaitConfigDropIn = "/etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf"

// kubeletFiles adds the kubelet unit (for binaries), its flags, its
// configuration drop-in and crictl.yaml.
func (b *builder) kubeletFiles() []string {
	d := b.d
	var out []string
	if d.R.Kubernetes.Source != recipes.SourcePackages {
		out = append(out,
			b.file("/etc/systemd/system/kubelet.service", "kubelet.service.tmpl", "0644"),
			b.file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "10-kubeadm.conf.tmpl", "0644"))
	}
	out = append(out,
		b.file(KubeletWaitConfigDropIn, "kubelet-wait-config.conf.tmpl", "0644"),
		b.file(d.KubeletEnvFile, "kubelet-env.tmpl", "0644"),
		b.file(d.KubeletDropInDir+"/10-kubebake.conf", "kubelet-dropin.conf.tmpl", "0644"),
		b.file("/etc/crictl.yaml", "crictl.yaml.tmpl", "0644"))
	if d.Shutdown.Seconds > 0 {
		out = append(out, b.file("/etc/systemd/logind.conf.d/10-kubebake-kubelet.conf", "logind-kubelet.conf.tmpl", "0644"))
	}
	return out
}

func (b *builder) imageJSON() {
	d := b.d
	info := api.ImageInfo{
		Recipe: d.R.Metadata.Name, Distro: d.R.Base.Distro, Release: d.R.Base.Release, Arch: d.R.Base.Arch,
		KubernetesVersion: d.K8s.Version, KubernetesSource: d.R.Kubernetes.Source, KubernetesOrigin: k8sOrigin(d.R, d),
		Runtime: d.R.Runtime.Kind, CRISocket: d.Runtime.Endpoint,
		CgroupDriver: "systemd", SandboxImage: d.R.Runtime.SandboxImage, Images: d.Images,
	}
	if info.Images == nil {
		info.Images = []api.Image{}
	}
	b.info = &info
	b.raw(api.ImageInfoPath, nil, "0644", "root:root")
}

// inputs lists the host files the applier stages.
func (b *builder) inputs() {
	r := b.d.R
	for _, name := range b.d.LocalBinaries {
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: name, HostPath: r.Kubernetes.Local.Dir + "/" + name, Mode: "0755"})
	}
	for _, a := range r.Images.Archives {
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: archiveInput(a), HostPath: a, Mode: "0644"})
	}
	if f := r.Kubernetes.Packages.Key.File; f != "" && r.Kubernetes.Source == recipes.SourcePackages {
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: k8sKeyInput, HostPath: f, Mode: "0644"})
	}
	for _, name := range b.d.Runtime.LocalBinaries {
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: name, HostPath: r.Runtime.Local.Dir + "/" + name, Mode: "0755"})
	}
	if b.d.CriDockerd.Local {
		b.plan.Inputs = append(b.plan.Inputs, Input{Name: "cri-dockerd", HostPath: r.Runtime.CriDockerd.Dir + "/cri-dockerd", Mode: "0755"})
	}
	sort.SliceStable(b.plan.Inputs, func(i, j int) bool { return b.plan.Inputs[i].Name < b.plan.Inputs[j].Name })
}
