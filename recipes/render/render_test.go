package render_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// TestPlanInvariants checks what every built-in plan must hold.
func TestPlanInvariants(t *testing.T) {
	t.Parallel()
	rn, err := render.New()
	require.NoError(t, err)
	stepName := regexp.MustCompile(`^steps/[0-9]{2}-[a-z0-9-]+\.sh$`)
	for _, name := range recipes.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := recipes.Load(name)
			require.NoError(t, err)
			p, err := rn.Render(l)
			require.NoError(t, err)
			r := l.Recipe

			steps := map[string]bool{}
			for _, s := range p.Steps {
				assert.False(t, steps[s.Name], "step %s twice", s.Name)
				steps[s.Name] = true
				assert.Regexp(t, stepName, s.Script)
				assert.True(t, bytes.HasPrefix(s.Body, []byte("#!/usr/bin/env bash\n")), s.Name)
				assert.Contains(t, string(s.Body), "\nset -euo pipefail\n", s.Name)
				if p.Family == recipes.FamilyFCOS {
					assert.NotContains(t, string(s.Body), "$KUBEBAKE_STAGE/rootfs", "Ignition places the files of %s", s.Name)
				}
			}
			for _, want := range []string{"kernel-modules", "sysctls", "swap", "runtime", "kubernetes", "firstboot", "seal"} {
				assert.True(t, steps[want], "step %s missing", want)
			}
			assert.Equal(t, "seal", p.Steps[len(p.Steps)-1].Name, "seal comes last")

			files := map[string]render.File{}
			for _, f := range p.Files {
				_, dup := files[f.Path]
				assert.False(t, dup, "file %s twice", f.Path)
				files[f.Path] = f
			}
			for _, want := range []string{
				"/etc/modules-load.d/kubernetes.conf", "/etc/sysctl.d/99-kubernetes-cri.conf", "/etc/crictl.yaml",
				"/etc/kubernetes/kubelet.conf.d/10-kubebake.conf", "/etc/systemd/system/kubebake-firstboot.service", "/etc/kubebake/image.json",
			} {
				assert.Contains(t, files, want)
			}
			crictl := string(files["/etc/crictl.yaml"].Content)
			assert.Contains(t, crictl, "runtime-endpoint: "+p.Runtime.Endpoint+"\n")
			assert.Equal(t, "systemd", p.Runtime.CgroupDriver)
			// Pods' veths keep their MAC: udev's persistent policy would
			// change it under CNI CHECK (CRI-O's "Mac doesn't match").
			link := string(files["/etc/systemd/network/50-kubebake-veth.link"].Content)
			assert.Regexp(t, `(?s)\n\[Match\]\nDriver=veth\n\n\[Link\]\nMACAddressPolicy=none\n$`, link)
			mods := string(files["/etc/modules-load.d/kubernetes.conf"].Content)
			assert.Contains(t, mods, "\noverlay\n")
			assert.Contains(t, mods, "\nbr_netfilter\n")
			sysctl := string(files["/etc/sysctl.d/99-kubernetes-cri.conf"].Content)
			for _, k := range []string{"net.bridge.bridge-nf-call-iptables = 1", "net.bridge.bridge-nf-call-ip6tables = 1", "net.ipv4.ip_forward = 1"} {
				assert.Contains(t, sysctl, k)
			}

			switch p.Family {
			case recipes.FamilyApt:
				assert.Contains(t, string(p.Steps[0].Body), "apt-get")
			case recipes.FamilyDnf:
				assert.Contains(t, string(p.Steps[0].Body), "dnf")
			case recipes.FamilyFCOS:
				assert.NotEmpty(t, p.Ignition)
				assert.NotEmpty(t, p.Butane)
			}

			if recipes.Bool(r.Images.Preload, true) {
				v, _ := recipes.ParseVersion(r.Kubernetes.Version)
				rel, _, _ := recipes.ReleaseFor(v)
				var names []string
				for _, img := range p.Images {
					names = append(names, img.Name)
					assert.Equal(t, r.Runtime.Kind != recipes.RuntimeDocker, img.Pinned, img.Name)
				}
				assert.Subset(t, names, rel.KubeadmImages())
				if r.Runtime.Kind == recipes.RuntimeCRIO {
					crio := string(files["/etc/crio/crio.conf.d/10-kubebake.conf"].Content)
					for _, n := range names {
						assert.Contains(t, crio, `"`+n+`"`)
					}
				}
			}
			if r.Kubernetes.Source == recipes.SourcePackages && p.Family != recipes.FamilyFCOS {
				k8s := string(stepBody(p, "kubernetes"))
				hold := "apt-mark hold kubelet kubeadm kubectl"
				if p.Family == recipes.FamilyDnf {
					hold = "versionlock add kubelet kubeadm kubectl"
				}
				assert.Contains(t, k8s, hold)
				assert.Contains(t, k8s, strings.TrimPrefix(p.Kubernetes.Version, "v"))
			}
		})
	}
}

func stepBody(p *render.Plan, name string) []byte {
	for _, s := range p.Steps {
		if s.Name == name {
			return s.Body
		}
	}
	return nil
}

// TestRenderDeterministic renders each built-in twice: a plan depends on
// its recipe alone.
func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	rn, err := render.New()
	require.NoError(t, err)
	for _, name := range recipes.BuiltinNames() {
		a := renderBuiltin(t, rn, name)
		b := renderBuiltin(t, rn, name)
		require.Equal(t, a, b, name)
	}
}

// TestHostileContentStaysData renders values that validation accepts but a
// shell would execute (file content, descriptions) and checks that no step
// script carries them.
func TestHostileContentStaysData(t *testing.T) {
	t.Parallel()
	doc := "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-containerd\n" +
		"metadata:\n  description: \"$(reboot) `reboot`\"\n" +
		"node:\n  files:\n  - path: /etc/motd\n    content: \"$(reboot); `reboot` ' \\\" \\n\"\n"
	l, err := recipes.Decode("r.yaml", []byte(doc))
	require.NoError(t, err, l.Report.String())
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	for _, s := range p.Steps {
		assert.NotContains(t, string(s.Body), "reboot", s.Name)
	}
}

func TestRenderRejectsInvalid(t *testing.T) {
	t.Parallel()
	l, err := recipes.Decode("r.yaml", []byte("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-containerd\nruntime:\n  kind: rkt\n"))
	require.Error(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	_, err = rn.Render(l)
	var invalid *recipes.InvalidError
	require.ErrorAs(t, err, &invalid)
}

func TestFileCollision(t *testing.T) {
	t.Parallel()
	l, err := recipes.Decode("r.yaml", []byte("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-containerd\n"+
		"node:\n  files:\n  - path: /etc/crictl.yaml\n    content: x\n"))
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	_, err = rn.Render(l)
	require.ErrorContains(t, err, "/etc/crictl.yaml is placed twice")
}

// BenchmarkRenderBuiltins loads and renders every built-in recipe.
func BenchmarkRenderBuiltins(b *testing.B) {
	rn, err := render.New()
	require.NoError(b, err)
	names := recipes.BuiltinNames()
	b.ReportAllocs()
	for b.Loop() {
		for _, name := range names {
			l, err := recipes.Load(name)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rn.Render(l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(names)), "recipes/op")
}

func TestImageArchivesAreStagedAndImported(t *testing.T) {
	for _, tc := range []struct{ from, want string }{
		{"debian-13-containerd", `ctr --address /run/containerd/containerd.sock --namespace k8s.io images import "$KUBEBAKE_STAGE/inputs/"image-archive-pause.tar`},
		{"debian-13-docker", `docker load --input "$KUBEBAKE_STAGE/inputs/"image-archive-pause.tar`},
	} {
		t.Run(tc.from, func(t *testing.T) {
			l, err := recipes.Decode("archives.yaml", []byte("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: "+tc.from+
				"\nimages:\n  extra: [{name: 'registry.k8s.io/pause:3.10.2'}]\n  archives: [/srv/images/pause.tar]\n"))
			require.NoError(t, err)
			rn, err := render.New()
			require.NoError(t, err)
			p, err := rn.Render(l)
			require.NoError(t, err)
			var in *render.Input
			for i := range p.Inputs {
				if p.Inputs[i].Name == "image-archive-pause.tar" {
					in = &p.Inputs[i]
				}
			}
			require.NotNil(t, in, "the archive is an input")
			assert.Equal(t, "/srv/images/pause.tar", in.HostPath)
			var body string
			for _, s := range p.Steps {
				if s.Name == "images" {
					body = string(s.Body)
				}
			}
			require.NotEmpty(t, body, "an images step")
			imp := strings.Index(body, tc.want)
			require.GreaterOrEqual(t, imp, 0, body)
			assert.Less(t, imp, strings.Index(body, "kb_image registry.k8s.io/pause:3.10.2"), "imported before the list is checked, so nothing is pulled")
		})
	}
}
