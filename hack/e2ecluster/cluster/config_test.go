package cluster

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/internal/userdata"
)

var (
	cp     = Node{Name: "cp1", Role: "init", IP: "192.168.76.11", MAC: "52:54:00:6B:62:11"}
	worker = Node{Name: "worker1", Role: "join", IP: "192.168.76.12", MAC: "52:54:00:6b:62:12"}
	tcg    = Cluster{PodSubnet: "10.244.0.0/16", ControlPlaneHealth: 15 * time.Minute, KubeletHealth: 10 * time.Minute, ControlPlane: 40 * time.Minute, TLSBootstrap: 20 * time.Minute, PodCIDR: 20 * time.Minute}
)

// TestNodeConfigs decodes both documents as the nodes will and checks
// that the join pins the CA the init node is given.
func TestNodeConfigs(t *testing.T) {
	s, err := NewSecrets()
	require.NoError(t, err)
	assert.Regexp(t, `^[a-z0-9]{6}\.[a-z0-9]{16}$`, s.Token)

	initDoc, err := NodeConfig(cp, cp, false, tcg, s)
	require.NoError(t, err)
	joinDoc, err := NodeConfig(worker, cp, false, tcg, s)
	require.NoError(t, err)
	for _, doc := range [][]byte{initDoc, joinDoc} {
		require.NoError(t, userdata.Check("node.yaml", doc, "v1.36.3"), "%s", doc)
	}

	in, err := nodeconfig.Decode(initDoc)
	require.NoError(t, err)
	require.NoError(t, nodeconfig.SetDefaults(in, nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "x"}))
	assert.Equal(t, "init", in.Role)
	assert.Equal(t, "cp1", in.Node.Name)
	assert.Equal(t, "10.244.0.0/16", in.Cluster.PodSubnet)
	assert.Equal(t, s.CAKey, in.Bootstrap.CAKey)
	assert.Equal(t, 15*time.Minute, in.Timeouts.ControlPlaneComponentHealthCheck.Duration)
	require.NotNil(t, in.CNI.Bridge)
	assert.Equal(t, "cni0", in.CNI.Bridge.Name)

	join, err := nodeconfig.Decode(joinDoc)
	require.NoError(t, err)
	assert.Equal(t, "192.168.76.11:6443", join.Cluster.ControlPlaneEndpoint)
	assert.Equal(t, []string{s.CAHash}, join.Bootstrap.CACertHashes)
	assert.Equal(t, s.Token, join.Bootstrap.Token)
	assert.Empty(t, join.Bootstrap.CAKey, "the CA key goes to the init node only")
	assert.Equal(t, "192.168.76.12", join.Node.AdvertiseAddress)
	require.NotNil(t, join.Timeouts.TLSBootstrap)
	assert.Equal(t, 20*time.Minute, join.Timeouts.TLSBootstrap.Duration)
	require.NotNil(t, join.Timeouts.PodCIDR)
	assert.Equal(t, 20*time.Minute, join.Timeouts.PodCIDR.Duration)
	hash, err := nodeconfig.CACertHash(in.Bootstrap.CACert)
	require.NoError(t, err)
	assert.Equal(t, hash, join.Bootstrap.CACertHashes[0], "the join pins the init node's CA")

	assert.Empty(t, in.Cluster.ControlPlaneEndpoint, "no control-plane joins: kubeadm's default endpoint")
	assert.False(t, in.Bootstrap.UploadCerts)

	// Both user data documents carry the NodeConfig where firstboot finds it.
	report, err := ReportScript(worker, 2, time.Minute)
	require.NoError(t, err)
	for _, everyBoot := range []bool{false, true} {
		ud, err := UserData(joinDoc, nil, nil, report, everyBoot)
		require.NoError(t, err)
		got, ok, err := source.FromUserData(ud)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, string(joinDoc), string(got))
	}
}

// TestReportBoothook: the boothook a power-cut node gets writes the report
// script as it is and starts it in the background through systemd-run.
func TestReportBoothook(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	report, err := ReportScript(worker, 2, time.Minute)
	require.NoError(t, err)
	hook, err := boothook("report", report)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(hook), "#cloud-boothook\n#!/bin/sh\n"), "cloud-init strips the first line and runs the rest")

	dir := t.TempDir()
	script := filepath.Join(dir, "hook.sh")
	// cloud-init runs the part without its #cloud-boothook line.
	require.NoError(t, os.WriteFile(script, []byte(strings.TrimPrefix(string(hook), "#cloud-boothook\n")), 0o755))
	out, err := exec.Command(sc, "-s", "sh", script).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s\n%s", out, hook)

	// Run it with /run and systemd-run moved: the script lands byte for
	// byte and systemd-run is asked to start it without blocking.
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "systemd-run"), []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$ARGS\"\n"), 0o755))
	fixed := strings.ReplaceAll(strings.TrimPrefix(string(hook), "#cloud-boothook\n"), "/run/", dir+"/")
	require.NoError(t, os.WriteFile(script, []byte(fixed), 0o755))
	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ARGS="+filepath.Join(dir, "args"))
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "kubebake-e2e-report.sh"))
	require.NoError(t, err)
	assert.Equal(t, string(report), string(got))
	args, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	assert.Contains(t, string(args), "--no-block\n")
	assert.Contains(t, string(args), "/bin/bash\n"+dir+"/kubebake-e2e-report.sh\n")

	_, err = boothook("report", []byte("#!/bin/bash\n"+reportDelimiter+"\n"))
	require.ErrorContains(t, err, reportDelimiter)

	ud, err := UserData([]byte("apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: join\n"), nil, nil, report, true)
	require.NoError(t, err)
	assert.Contains(t, string(ud), "Content-Type: text/cloud-boothook")
	assert.NotContains(t, string(ud), "text/x-shellscript", "the report runs once per boot, not once per instance")
}

// TestControlPlaneJoin: with a control-plane node, init names a stable
// endpoint and uploads its certificates under the key the joiner gets.
func TestControlPlaneJoin(t *testing.T) {
	s, err := NewSecrets()
	require.NoError(t, err)
	assert.Regexp(t, `^[a-f0-9]{64}$`, s.CertificateKey)
	cp2 := Node{Name: "cp2", Role: "control-plane", IP: "192.168.76.12", MAC: "52:54:00:6b:62:12"}
	initDoc, err := NodeConfig(cp, cp, true, tcg, s)
	require.NoError(t, err)
	cpDoc, err := NodeConfig(cp2, cp, true, tcg, s)
	require.NoError(t, err)
	for _, doc := range [][]byte{initDoc, cpDoc} {
		require.NoError(t, userdata.Check("node.yaml", doc, "v1.36.3"), "%s", doc)
	}
	in, err := nodeconfig.Decode(initDoc)
	require.NoError(t, err)
	assert.Equal(t, "192.168.76.11:6443", in.Cluster.ControlPlaneEndpoint)
	assert.True(t, in.Bootstrap.UploadCerts)
	assert.Equal(t, s.CertificateKey, in.Bootstrap.CertificateKey)
	j, err := nodeconfig.Decode(cpDoc)
	require.NoError(t, err)
	assert.Equal(t, "control-plane", j.Role)
	assert.Equal(t, s.CertificateKey, j.Bootstrap.CertificateKey)
	assert.Equal(t, []string{s.CAHash}, j.Bootstrap.CACertHashes)
	assert.Equal(t, "192.168.76.11:6443", j.Cluster.ControlPlaneEndpoint)
}

// TestNetworkConfig renders the network-config with cloud-init's own
// networkd renderer (Debian's cloud-init) and checks the result.
func TestNetworkConfig(t *testing.T) {
	doc, err := NetworkConfig(cp)
	require.NoError(t, err)
	_, err = NetworkConfig(Node{Name: "x", IP: "192.168.76.1"})
	require.ErrorContains(t, err, "gateway")
	_, err = NetworkConfig(Node{Name: "x", IP: "fd00::1"})
	require.ErrorContains(t, err, "not an IPv4 address")

	testutil.Tool(t, "cloud-init")
	f := filepath.Join(t.TempDir(), "network-config")
	require.NoError(t, os.WriteFile(f, doc, 0o644))
	const script = `
import sys, json, yaml
from cloudinit.net import network_state, networkd
ns = network_state.parse_net_config_data(yaml.safe_load(open(sys.argv[1])))
print(json.dumps(networkd.Renderer()._render_content(ns)))
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, f).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var units map[string]string
	require.NoError(t, json.Unmarshal(out, &units), "%s", out)
	unit := units["link0"]
	for _, want := range []string{"MACAddress=52:54:00:6b:62:11", "Name=link0", "Address=192.168.76.11/24", "Destination=0.0.0.0/0", "Gateway=192.168.76.1", "DHCP=no", "DNS=192.168.76.1"} {
		assert.Contains(t, unit, want)
	}
	assert.Contains(t, string(doc), "set-name: link0", "the interface is renamed to the name networkd matches")
}

// TestInstallScript checks the baseline's install script with shellcheck.
func TestInstallScript(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	b, err := InstallScript(cp)
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "install.sh")
	require.NoError(t, os.WriteFile(f, b, 0o755))
	out, err := exec.Command(sc, "-s", "bash", f).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s\n%s", out, b)
	assert.Contains(t, string(b), "mount LABEL=kbbundle /run/kubebake-bundle")
	assert.Contains(t, string(b), "systemctl start --no-block kubebake-firstboot.service")

	// The install script runs before the report script: cloud-init orders
	// scripts by name.
	ud, err := UserData([]byte("apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: init\n"), b, nil, []byte("#!/bin/bash\n"), false)
	require.NoError(t, err)
	i, r := strings.Index(string(ud), "kubebake-e2e-0-install.sh"), strings.Index(string(ud), "kubebake-e2e-1-report.sh")
	assert.True(t, i > 0 && r > i, "install part before report part")
}

// TestReportScript checks both variants with shellcheck.
func TestReportScript(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	for _, n := range []Node{cp, worker} {
		b, err := ReportScript(n, 2, 20*time.Minute)
		require.NoError(t, err)
		f := filepath.Join(t.TempDir(), "report.sh")
		require.NoError(t, os.WriteFile(f, b, 0o755))
		out, err := exec.Command(sc, "-s", "bash", f).CombinedOutput()
		assert.NoError(t, err, "%s: shellcheck:\n%s\n%s", n.Name, out, b)
		if n.Role == "init" {
			assert.Contains(t, string(b), "deadline=$((SECONDS + 1200))")
			assert.Contains(t, string(b), `[ "$ready" -ge 2 ]`)
		} else {
			assert.NotContains(t, string(b), "admin.conf", "only the init node checks the cluster")
			assert.Contains(t, string(b), "/etc/kubernetes/kubelet.conf", "a worker reads its own Node with the kubelet's credentials")
		}
		assert.True(t, strings.HasPrefix(string(b), "#!/bin/bash\n"))
	}
}
