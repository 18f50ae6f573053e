package imagetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
)

func TestCheckScriptShellcheck(t *testing.T) {
	t.Parallel()
	sc := testutil.Tool(t, "shellcheck")
	for _, runtime := range recipes.RuntimeNames() {
		kind, _ := recipes.LookupRuntime(runtime)
		for _, mode := range []string{"boot", "node", "build"} {
			node := mode == "node"
			d := scriptData{
				InBuild:  mode == "build",
				Endpoint: kind.Endpoint(), Runtime: runtime, Version: "v1.36.3",
				Services: kind.Services, CgroupCheck: kind.CgroupCheck, CgroupCheckDesc: kind.CgroupCheckDesc,
				Modules:    []string{"overlay", "br_netfilter"},
				Sysctls:    []kv{{"net.ipv4.ip_forward", "1"}, {"net.core.somaxconn", "4096 8"}},
				Images:     []api.Image{{Name: "registry.k8s.io/pause:3.10.2", Pinned: true}, {Name: "docker.io/library/nginx:1.27"}},
				ExpectNode: node, FirstbootWaitSeconds: 60, PowerOff: true,
				HoldCheck: holdCheck(recipes.FamilyApt, "v1.36.3"),
			}
			script, err := checkScript(d)
			require.NoError(t, err)
			assert.Contains(t, string(script), "check cgroup-driver \""+kind.CgroupCheckDesc+"\" bash -c '"+kind.CgroupCheck+"'")
			f := filepath.Join(t.TempDir(), "check.sh")
			require.NoError(t, os.WriteFile(f, script, 0o755))
			out, err := exec.Command(sc, "--norc", "-s", "bash", "-S", "warning", f).CombinedOutput()
			assert.NoError(t, err, "%s (%s):\n%s", runtime, mode, out)
			out, err = exec.Command("bash", "-n", f).CombinedOutput()
			assert.NoError(t, err, "%s", out)
			s := string(script)
			assert.Contains(t, s, "KUBEBAKE-TEST-DONE")
			assert.Equal(t, !node, strings.Contains(s, "kubeadm init phase preflight"))
			assert.Equal(t, mode == "build", strings.Contains(s, "--ignore-preflight-errors=NumCPU,Mem"))
			assert.Equal(t, mode == "boot", strings.Contains(s, "firstboot-no-config"), "only a boot can see firstboot's own verdict")
			assert.Contains(t, s, "check sysctl-net.core.somaxconn")
			assert.Contains(t, s, "check kubernetes-packages-held ")
		}
	}
}

// TestCheckScriptRuns runs the check script with bash against stand-in
// commands and parses what it prints the way Run does.
func TestCheckScriptRuns(t *testing.T) {
	t.Parallel()
	d := scriptData{
		Endpoint: "unix:///run/containerd/containerd.sock", Runtime: "containerd", Version: "v1.36.3",
		Services: []string{"containerd.service"}, Modules: []string{"definitely_not_loaded_module"},
		Sysctls: []kv{{"kernel.ostype", "Linux"}, {"kernel.osrelease", "0.0-none"}}, RuntimeWaitSeconds: 1, FirstbootWaitSeconds: 1,
	}
	script, err := checkScript(d)
	require.NoError(t, err)
	dir := t.TempDir()
	console := filepath.Join(dir, "console")
	s := strings.Replace(string(script), "CONSOLE=/dev/ttyS1", "CONSOLE="+console, 1)
	s = strings.Replace(s, "export PATH=", "export PATH="+dir+":", 1)
	for _, stub := range []string{"systemctl", "kubeadm", "kubelet", "kubectl", "crictl", "containerd"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, stub), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	}
	f := filepath.Join(dir, "check.sh")
	require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
	require.NoError(t, exec.Command("bash", f).Run())
	out, err := os.ReadFile(console)
	require.NoError(t, err)
	results := map[string]string{}
	for _, m := range checkRE.FindAllSubmatch(out, -1) {
		results[string(m[2])] = string(m[1])
	}
	assert.Equal(t, "FAIL", results["module-definitely_not_loaded_module"])
	assert.Equal(t, "PASS", results["sysctl-kernel.ostype"])
	assert.Equal(t, "FAIL", results["sysctl-kernel.osrelease"])
	assert.Equal(t, "FAIL", results["active-containerd.service"])
	assert.Equal(t, "FAIL", results["kubeadm-version"])
	m := doneRE.FindSubmatch(out)
	require.NotNil(t, m)
	assert.Equal(t, strconv.Itoa(len(checkRE.FindAll(out, -1))), string(m[1]), "the count covers every result")
}

func TestMIMEUserDataFeedsFirstboot(t *testing.T) {
	t.Parallel()
	node := []byte("apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: init\n")
	for name, user := range map[string][]byte{
		"raw NodeConfig": node,
		"nested MIME":    mustMIME(t, node),
	} {
		t.Run(name, func(t *testing.T) {
			ud, err := mimeUserData(user, []byte("#!/bin/bash\necho check\n"))
			require.NoError(t, err)
			doc, ok, err := source.FromUserData(ud)
			require.NoError(t, err)
			require.True(t, ok, "firstboot finds the NodeConfig in:\n%s", ud)
			assert.Equal(t, string(node), string(doc))
			assert.Contains(t, string(ud), "text/x-shellscript")
		})
	}
	ud, err := mimeUserData(nil, []byte("#!/bin/bash\n"))
	require.NoError(t, err)
	_, ok, err := source.FromUserData(ud)
	require.NoError(t, err)
	assert.False(t, ok)
}

func mustMIME(t *testing.T, node []byte) []byte {
	t.Helper()
	ud, err := mimeUserData(node, []byte("#!/bin/sh\n"))
	require.NoError(t, err)
	return ud
}

// TestHygieneOnDisk builds real ext4 root filesystems with mkfs.ext4 -d in
// a GPT disk and reads them back with debugfs.
func TestHygieneOnDisk(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"mkfs.ext4", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not found (e2fsprogs)")
		}
	}
	clean := map[string]string{
		"etc/machine-id": "", "etc/ssh/sshd_config": "x", "etc/passwd": "root:x:0:0::/root:/bin/bash\n",
		"etc/kubebake/image.json": `{"recipe":"r","kubernetesVersion":"v1.36.3","runtime":"containerd","criSocket":"unix:///run/containerd/containerd.sock","images":[]}`,
		"var/lib/apt/lists/lock":  "", "var/cache/apt/archives/lock": "",
	}
	dirty := map[string]string{
		"etc/machine-id": "0123456789abcdef0123456789abcdef\n", "etc/ssh/ssh_host_ed25519_key": "k",
		"etc/passwd":                        "root:x:0:0::/root:/bin/bash\nkubebake-build:x:1000:1000::/home/kubebake-build:/bin/bash\n",
		"home/kubebake-build/.bash_history": "ls\n", "root/.bash_history": "ls\n",
		"var/lib/cloud/instance/boot-finished": "", "var/lib/apt/lists/deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages": "x",
		"var/cache/apt/archives/containerd_1.7.deb": "x", "var/tmp/kubebake/steps/01-prepare.sh": "x",
		"etc/kubebake/image.json": clean["etc/kubebake/image.json"],
	}
	for name, tc := range map[string]struct {
		files map[string]string
		pass  bool
	}{"clean": {clean, true}, "dirty": {dirty, false}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw := makeDisk(t, tc.files)
			fs, err := openRootFS(raw, sys.Exec{})
			require.NoError(t, err)
			checks, err := hygiene(context.Background(), fs)
			require.NoError(t, err)
			require.Len(t, checks, 7)
			for _, c := range checks {
				assert.Equal(t, tc.pass, c.Passed, "%s: %s", c.Name, c.Detail)
			}
			info, _, err := expectations(context.Background(), fs.cat)
			require.NoError(t, err)
			assert.Equal(t, "v1.36.3", info.KubernetesVersion)
			esp, err := hasESP(raw)
			require.NoError(t, err)
			assert.True(t, esp)
		})
	}
}

// makeDisk writes files into a 64 MiB ext4 root partition of a GPT disk
// with an ESP, without root privileges.
func makeDisk(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	rootDir := filepath.Join(dir, "root")
	for p, content := range files {
		f := filepath.Join(rootDir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, []byte(content), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(rootDir, "home"), 0o755))
	ext4 := filepath.Join(dir, "root.ext4")
	require.NoError(t, os.WriteFile(ext4, nil, 0o644))
	require.NoError(t, os.Truncate(ext4, 64<<20))
	out, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", rootDir, ext4).CombinedOutput()
	require.NoError(t, err, "%s", out)
	raw := filepath.Join(dir, "disk.raw")
	d, err := diskfs.Create(raw, 2<<20+8<<20+64<<20+1<<20, diskfs.SectorSizeDefault)
	require.NoError(t, err)
	require.NoError(t, d.Partition(&gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true,
		Partitions: []*gpt.Partition{
			{Index: 1, Start: 2048, End: 2048 + 8<<11 - 1, Type: gpt.EFISystemPartition, Name: "esp"},
			{Index: 2, Start: 2048 + 8<<11, End: 2048 + 8<<11 + 64<<11 - 1, Type: gpt.LinuxFilesystem, Name: "root"},
		}}))
	f, err := os.Open(ext4)
	require.NoError(t, err)
	defer f.Close()
	_, err = d.WritePartitionContents(2, f)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	return raw
}

func TestKubeadmImagesPreloaded(t *testing.T) {
	t.Parallel()
	rel, _, ok := recipes.ReleaseFor(mustVersion(t, "v1.36.3"))
	require.True(t, ok)
	var all []api.Image
	for _, n := range rel.KubeadmImages() {
		all = append(all, api.Image{Name: n, Pinned: true})
	}
	info := api.ImageInfo{KubernetesVersion: "v1.36.3"}
	assert.False(t, kubeadmImagesPreloaded(info), "none")
	info.Images = []api.Image{{Name: "registry.example.com/agent:1"}}
	assert.False(t, kubeadmImagesPreloaded(info), "only an extra image")
	info.Images = all[1:]
	assert.False(t, kubeadmImagesPreloaded(info), "one missing")
	info.Images = append(all, api.Image{Name: "registry.example.com/agent:1"})
	assert.True(t, kubeadmImagesPreloaded(info), "all of kubeadm's, and more")
}

func mustVersion(t *testing.T, s string) recipes.Version {
	t.Helper()
	v, err := recipes.ParseVersion(s)
	require.NoError(t, err)
	return v
}
