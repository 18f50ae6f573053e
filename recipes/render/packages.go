package render

import "github.com/kubebake/kubebake/recipes"

// repoTools are the packages the repositories step installs besides
// ca-certificates and curl, per family: its "FAMILY.repo-tools" block, and
// its "FAMILY.gpg" block when a key's fingerprint is pinned.
var repoTools = map[recipes.Family]struct {
	tools []string
	gpg   string
}{
	recipes.FamilyApt: {gpg: "gpg"},
	recipes.FamilyDnf: {tools: []string{"dnf-command(versionlock)"}, gpg: "gnupg2"},
}

// packageList lists what the plan's steps install from package
// repositories (Plan.Packages), from the data their templates read: each
// package once, in the order the steps first ask for it. Hooks are the
// user's and not read.
func (b *builder) packageList() []string {
	d := b.d
	r := d.R
	var out []string
	seen := map[string]bool{}
	add := func(pkgs ...string) {
		for _, p := range pkgs {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, s := range b.plan.Steps {
		switch s.Name {
		case "prepare":
			add(d.BasePackages...)
			add(d.EarlyPackages...)
		case "repositories":
			add("ca-certificates", "curl")
			add(repoTools[d.F.Name].tools...)
			if d.KeysPinned() {
				add(repoTools[d.F.Name].gpg)
			}
		case "layer":
			add(d.LayerPackages...)
		case "runtime":
			add(d.RuntimePackages...)
		case "kubernetes":
			add(d.KubernetesPackages...)
		case "cni-plugins":
			if r.Kubernetes.CNIPlugins.Source == recipes.SourceDistro {
				add("containernetworking-plugins")
			}
		case "firewall":
			if r.Node.Firewall.Mode == "open" && d.F.Name == recipes.FamilyDnf {
				add("firewalld")
			}
		case "packages":
			add(r.Node.Packages...)
		}
	}
	return out
}
