package render_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// installRE finds a package manager's install command in a step, and
// earlyRE the prepare step's early packages.
var (
	installRE = regexp.MustCompile(`(?m)^\s*(?:"\$\{APT\[@\]\}"|"\$\{DNF\[@\]\}"|rpm-ostree) install (.*)$`)
	earlyRE   = regexp.MustCompile(`(?m)^\s*early=\((.*)\)$`)
)

// installedBySteps reads the packages the plan's step scripts ask for.
func installedBySteps(p *render.Plan) map[string]bool {
	got := map[string]bool{}
	for _, s := range p.Steps {
		var lists []string
		for _, m := range installRE.FindAllStringSubmatch(string(s.Body), -1) {
			lists = append(lists, m[1])
		}
		for _, m := range earlyRE.FindAllStringSubmatch(string(s.Body), -1) {
			lists = append(lists, m[1])
		}
		for _, l := range lists {
			for _, w := range strings.Fields(l) {
				if strings.HasPrefix(w, "-") || strings.HasPrefix(w, `"$`) {
					continue
				}
				got[strings.Trim(w, "'")] = true
			}
		}
	}
	return got
}

// TestPlanPackages: plan.json's packages are exactly what the step scripts
// install, for every built-in recipe (the bench's floor installs them).
func TestPlanPackages(t *testing.T) {
	rn, err := render.New()
	require.NoError(t, err)
	for _, name := range recipes.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			p := renderBuiltin(t, rn, name)
			want := map[string]bool{}
			for _, pkg := range p.Packages {
				assert.False(t, want[pkg], "%s listed twice", pkg)
				want[pkg] = true
			}
			assert.Equal(t, installedBySteps(p), want)
		})
	}
}

// TestPrepareInstallsEarlyInAChroot: where the runtime and the CNI
// plugins come from the distro's repositories, the prepare step installs
// them with the base tools when it runs in a chroot, and their own steps
// still install them (on a booted machine, after their configuration).
func TestPrepareInstallsEarlyInAChroot(t *testing.T) {
	rn, err := render.New()
	require.NoError(t, err)
	for _, tc := range []struct {
		recipe string
		early  string
	}{
		{recipe: "debian-13-containerd", early: "early=(containerd containernetworking-plugins)"},
		{recipe: "debian-13-docker", early: "early=(docker.io docker-cli containernetworking-plugins)"},
		{recipe: "ubuntu-24.04-containerd"},
		{recipe: "rocky-9-cri-o"},
	} {
		t.Run(tc.recipe, func(t *testing.T) {
			p := renderBuiltin(t, rn, tc.recipe)
			prepare := string(p.Steps[0].Body)
			require.Equal(t, "prepare", p.Steps[0].Name)
			if tc.early == "" {
				assert.NotContains(t, prepare, "early=(", "packages from added repositories wait for them")
				return
			}
			assert.Contains(t, prepare, "if ! kb_live; then\n  "+tc.early+"\nfi\n")
			assert.Contains(t, prepare, `"${early[@]}"`)
			for _, s := range p.Steps {
				if s.Name == "runtime" {
					assert.Regexp(t, `install --no-install-recommends \S`, string(s.Body), "the runtime step still installs its packages")
				}
			}
		})
	}
}

// TestKbInstalled runs the runtime step's kb_installed against this
// machine's dpkg: true only when every package named is installed.
func TestKbInstalled(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query on this machine")
	}
	rn, err := render.New()
	require.NoError(t, err)
	p := renderBuiltin(t, rn, "debian-13-containerd")
	var fn string
	for _, s := range p.Steps {
		if s.Name == "runtime" {
			fn = regexp.MustCompile(`(?s)kb_installed\(\) \{\n.*?\n\}\n`).FindString(string(s.Body))
		}
	}
	require.NotEmpty(t, fn, "the runtime step defines kb_installed")
	for _, tc := range []struct {
		name     string
		packages string
		want     bool
	}{
		{name: "an installed package", packages: "bash", want: true},
		{name: "two installed packages", packages: "bash coreutils", want: true},
		{name: "an unknown package", packages: "kubebake-no-such-package", want: false},
		{name: "one of two unknown", packages: "bash kubebake-no-such-package", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := exec.Command("bash", "-c", fn+"kb_installed "+tc.packages).Run()
			assert.Equal(t, tc.want, err == nil, "kb_installed %s: %v", tc.packages, err)
		})
	}
}
