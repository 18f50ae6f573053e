package render_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// The dnf consumer: every rendered /etc/yum.repos.d/*.repo is read by dnf's
// own config parser (libdnf, through `dnf config-manager --dump`), in a
// scratch installroot with the rendered files as its only reposdir, from
// the cache only, so no network is touched. dnf is Debian bookworm's 4.14
// (dnf and dnf-plugins-core, from hack/validators.sh); trixie's 4.23 would
// replace this machine's libc6, python3 and systemd.

// k8sRepoExclude is what the kubernetes repository holds back: every
// package of pkgs.k8s.io's repository, installed only with
// --disableexcludes=kubernetes.
var k8sRepoExclude = []string{"kubelet", "kubeadm", "kubectl", "cri-tools", "kubernetes-cni"}

// k8sStagedKey is the gpgkey of a kubernetes repository whose key the
// repositories step places (key.file, or a pinned fingerprint).
const k8sStagedKey = "file:///etc/pki/rpm-gpg/kubebake-kubernetes.asc"

// TestConsumersDnf renders every recipe with dnf repositories and checks
// what dnf parses from them: each repository enabled, with a baseurl,
// gpgcheck=1 and a gpgkey; the kubernetes repository at the plan's origin,
// with the key the recipe chose and pkgs.k8s.io's packages excluded, and
// the kubernetes step lifting exactly that repository's excludes.
func TestConsumersDnf(t *testing.T) {
	t.Parallel()
	dnf := dnfConsumer(t)
	rn, err := render.New()
	require.NoError(t, err)
	// exact are the values wanted of the kubernetes repository of a few
	// recipes, spelt out rather than derived; MINOR is the plan's
	// Kubernetes minor (v1.37).
	exact := map[string]map[string]string{
		"centos-stream-9-containerd": {
			"baseurl": "https://pkgs.k8s.io/core:/stable:/MINOR/rpm/",
			"gpgkey":  "https://pkgs.k8s.io/core:/stable:/MINOR/rpm/repodata/repomd.xml.key",
		},
		"rocky-9-cri-o": {
			"baseurl": "https://pkgs.k8s.io/core:/stable:/MINOR/rpm/",
			"gpgkey":  "https://pkgs.k8s.io/core:/stable:/MINOR/rpm/repodata/repomd.xml.key",
		},
		"extra-packages-mirror-keyfile-rocky": {
			"baseurl": "http://pulp.example.internal/pulp/content/pkgs.k8s.io/core:/stable:/MINOR/rpm/",
			"gpgkey":  k8sStagedKey,
		},
	}
	checked := map[string]bool{}
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			cp := consumerRender(t, rn, c)
			repos := cp.filesUnder("/etc/yum.repos.d")
			if len(repos) == 0 {
				t.Skipf("no dnf repositories (family %s, kubernetes from %s)", cp.plan.Family, cp.plan.Kubernetes.Source)
			}
			parsed, problems := dnfParse(t, dnf, cp.plan.Base.Release, repos)
			require.Empty(t, problems, "dnf's parse of %d repository files", len(repos))
			for id, opts := range parsed {
				t.Logf("%s: baseurl=%s gpgkey=%s exclude=%s", id, opts["baseurl"], opts["gpgkey"], opts["exclude"])
			}
			if cp.plan.Kubernetes.Source != recipes.SourcePackages {
				assert.NotContains(t, parsed, "kubernetes")
				return
			}
			k8s := parsed["kubernetes"]
			require.NotNil(t, k8s, "no kubernetes repository among %v", slices.Sorted(maps.Keys(parsed)))
			assert.Equal(t, cp.plan.Kubernetes.Origin, k8s["baseurl"], "baseurl is the plan's origin")
			key := cp.loaded.Recipe.Kubernetes.Packages.Key
			wantKey := cp.plan.Kubernetes.Origin + "repodata/repomd.xml.key"
			switch {
			case key.File != "" || key.Fingerprint != "":
				wantKey = k8sStagedKey
			case key.URL != "":
				wantKey = key.URL
			}
			assert.Equal(t, wantKey, k8s["gpgkey"])
			// dnf holds the packages back with excludes and installs them
			// with the repository's excludes lifted. rpm-ostree, which
			// layers them on Fedora CoreOS, has no such option and honours
			// excludes (libdnf), so there the repository has none: the
			// layered requests name the exact version.
			if cp.plan.Family == recipes.FamilyDnf {
				assert.ElementsMatch(t, k8sRepoExclude, dnfList(k8s["excludepkgs"]), "excludepkgs")
				assert.True(t, dnfStepLiftsExcludes(cp.plan, "kubernetes"),
					"the kubernetes step installs with --disableexcludes=kubernetes")
			} else {
				assert.Empty(t, dnfList(k8s["excludepkgs"]), "excludepkgs on %s", cp.plan.Family)
			}
			if want, ok := exact[c.name]; ok {
				checked[c.name] = true
				minor := strings.Join(strings.SplitN(cp.plan.Kubernetes.Version, ".", 3)[:2], ".")
				for k, v := range want {
					assert.Equal(t, strings.ReplaceAll(v, "MINOR", minor), k8s[k], k)
				}
			}
		})
	}
	t.Run("every exact case ran", func(t *testing.T) {
		for name := range exact {
			assert.True(t, checked[name], "%s was not checked", name)
		}
	})
}

// TestConsumersDnfRejects proves the dnf check can fail: each broken
// variant of a rendered kubernetes.repo is refused.
func TestConsumersDnfRejects(t *testing.T) {
	t.Parallel()
	dnf := dnfConsumer(t)
	rn, err := render.New()
	require.NoError(t, err)
	cp := consumerRender(t, rn, consumerCase{name: "centos-stream-9-containerd", load: func() (*recipes.Loaded, error) {
		return recipes.Load("centos-stream-9-containerd")
	}})
	good := string(cp.file(t, "/etc/yum.repos.d/kubernetes.repo").Content)
	for _, tc := range []struct {
		name, old, new string
		// want is part of the one problem reported.
		want string
	}{
		{"unchanged", "", "", ""},
		{"not a boolean", "gpgcheck=1", "gpgcheck=maybe", "invalid boolean value"},
		{"misspelt key", "gpgcheck=1", "gpgchek=1", "gpgcheck = 0"},
		{"no section", "[kubernetes]\n", "", "failed loading"},
		{"broken continuation", "cri-tools kubernetes-cni", "cri-tools\nkubernetes-cni", "failed loading"},
		{"no baseurl", "baseurl=", "#baseurl=", "baseurl is empty"},
		{"disabled", "enabled=1", "enabled=0", "enabled = 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := good
			if tc.old != "" {
				require.Contains(t, good, tc.old)
				content = strings.Replace(good, tc.old, tc.new, 1)
			}
			_, problems := dnfParse(t, dnf, "9", []render.File{{Path: "/etc/yum.repos.d/kubernetes.repo", Content: []byte(content)}})
			if tc.want == "" {
				assert.Empty(t, problems)
				return
			}
			require.NotEmpty(t, problems, "dnf accepted:\n%s", content)
			assert.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// dnfConsumer is the dnf binary, with the config-manager plugin
// (dnf-plugins-core) that prints what dnf parsed; it skips like
// consumerBinary when either is missing.
func dnfConsumer(t *testing.T) string {
	t.Helper()
	dnf := consumerBinary(t, "dnf")
	dir := t.TempDir()
	_, stderr, err := consumerRun(dnf, dnfArgs(dir, "9", "config-manager", "--dump")...)
	if err != nil {
		msg := fmt.Sprintf("dnf config-manager is not available (%v: %s): run hack/validators.sh", err, strings.TrimSpace(stderr))
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dnf
}

// dnfArgs are dnf's arguments for a scratch installroot under dir, with
// dir/repos as the only repository directory, no network (cache only) and
// no plugin but config-manager, followed by args.
func dnfArgs(dir, releasever string, args ...string) []string {
	conf := filepath.Join(dir, "dnf.conf")
	if _, err := os.Stat(conf); err != nil {
		_ = os.MkdirAll(filepath.Join(dir, "repos"), 0o755)
		_ = os.WriteFile(conf, []byte("[main]\n"), 0o644)
	}
	return append([]string{
		"--config=" + conf, "--installroot=" + filepath.Join(dir, "root"),
		"--setopt=reposdir=" + filepath.Join(dir, "repos"), "--releasever=" + releasever,
		"--cacheonly", "--disableplugin=*", "--enableplugin=config_manager",
	}, args...)
}

// dnfParse writes the repository files into a scratch reposdir and returns
// each repository's options as dnf parsed them, and the problems found: a
// warning or error from dnf, a section dnf dropped, or a repository that
// is disabled, has no baseurl or gpgkey, or does not check signatures.
func dnfParse(t *testing.T, dnf, releasever string, files []render.File) (map[string]map[string]string, []string) {
	t.Helper()
	dir := t.TempDir()
	var sections []string
	for _, f := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "repos"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "repos", filepath.Base(f.Path)), f.Content, 0o644))
		sections = append(sections, iniSections(string(f.Content))...)
	}
	stdout, stderr, err := consumerRun(dnf, dnfArgs(dir, releasever, "config-manager", "--dump", "*")...)
	var problems []string
	if err != nil {
		problems = append(problems, fmt.Sprintf("dnf config-manager --dump: %v", err))
	}
	if s := strings.TrimSpace(stderr); s != "" {
		problems = append(problems, "dnf: "+s)
	}
	parsed := dnfDump(stdout)
	for _, id := range sections {
		opts, ok := parsed[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("[%s]: dnf has no such repository", id))
			continue
		}
		for _, k := range []string{"enabled", "gpgcheck"} {
			if opts[k] != "1" {
				problems = append(problems, fmt.Sprintf("[%s]: %s = %s, want 1", id, k, opts[k]))
			}
		}
		for _, k := range []string{"baseurl", "gpgkey"} {
			if opts[k] == "" {
				problems = append(problems, fmt.Sprintf("[%s]: %s is empty", id, k))
			}
		}
	}
	return parsed, problems
}

// dnfDump reads `dnf config-manager --dump` output: per repository
// ("=== repo: ID ===" then "[ID]"), its "key = value" lines.
func dnfDump(out string) map[string]map[string]string {
	repos := map[string]map[string]string{}
	var cur map[string]string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "=") {
			cur = nil
			if _, id, ok := strings.Cut(strings.Trim(line, "= "), "repo: "); ok {
				cur = map[string]string{}
				repos[id] = cur
			}
			continue
		}
		if k, v, ok := strings.Cut(line, " = "); ok && cur != nil {
			cur[k] = strings.TrimSpace(v)
		} else if k, ok := strings.CutSuffix(line, " ="); ok && cur != nil {
			cur[k] = ""
		}
	}
	return repos
}

// iniSections are the [section] names of an ini file.
func iniSections(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			out = append(out, line[1:len(line)-1])
		}
	}
	return out
}

// dnfList splits a list option as dnf prints it ("a, b, c").
func dnfList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// dnfStepLiftsExcludes says whether the plan's kubernetes step installs with
// the excludes of repository id lifted.
func dnfStepLiftsExcludes(p *render.Plan, id string) bool {
	for _, s := range p.Steps {
		if s.Name == "kubernetes" && strings.Contains(string(s.Body), " install --disableexcludes="+id+" ") {
			return true
		}
	}
	return false
}
