package base

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	testRootUUID = "3f6ea383-3818-4da3-9d3f-a38d54355198"
	testESPUUID  = "932397a2-a53e-4c4b-8587-2a8c0de5983d"
)

// testConfig is the image configuration the golden files are rendered from.
func testConfig(t *testing.T, name string) imageConfig {
	t.Helper()
	d, err := lookupDistro(name)
	require.NoError(t, err)
	return imageConfig{
		suite: d.suite, mirror: DefaultMirror, securityMirror: DefaultSecurityMirror,
		rootUUID: testRootUUID, espPartUUID: testESPUUID, hostname: DefaultHostname, uki: d.uki,
	}
}

// TestGoldenFiles compares the files written into each distro's image with
// their golden copies. Refresh with: go test ./internal/base -run TestGoldenFiles -update
func TestGoldenFiles(t *testing.T) {
	for _, name := range Distros() {
		t.Run(name, func(t *testing.T) {
			files := testConfig(t, name).files()
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				require.NoError(t, os.RemoveAll(dir))
				for _, f := range files {
					p := filepath.Join(dir, f.path)
					require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
					require.NoError(t, os.WriteFile(p, []byte(f.data), 0o644))
				}
			}
			seen := map[string]bool{}
			for _, f := range files {
				assert.False(t, seen[f.path], "%s written twice", f.path)
				seen[f.path] = true
				want, err := os.ReadFile(filepath.Join(dir, f.path))
				require.NoError(t, err, "%s has no golden copy (run with -update)", f.path)
				assert.Equal(t, string(want), f.data, "%s differs from its golden copy (run with -update and review the diff)", f.path)
			}
			err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				assert.True(t, seen["/"+filepath.ToSlash(rel)], "golden %s is no longer written", rel)
				return nil
			})
			require.NoError(t, err)
		})
	}
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	modes := map[string]os.FileMode{}
	for _, f := range testConfig(t, "debian-13").files() {
		modes[f.path] = f.mode
	}
	assert.Equal(t, os.FileMode(0o755), modes[ukiHookPath], "run-parts runs only executables")
	assert.Equal(t, os.FileMode(0o444), modes["/etc/machine-id"])
	assert.Equal(t, os.FileMode(0o644), modes["/etc/fstab"])
}

func TestKernelCmdline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		extra []string
		want  string
	}{
		{name: "default", want: "root=UUID=" + testRootUUID + " ro console=tty0 console=ttyS0,115200n8"},
		{name: "extra arguments last", extra: []string{"quiet", "systemd.journald.forward_to_console=1"},
			want: "root=UUID=" + testRootUUID + " ro console=tty0 console=ttyS0,115200n8 quiet systemd.journald.forward_to_console=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := kernelCmdline(testRootUUID, tc.extra)
			assert.Equal(t, tc.want, got)
			// The last console= is /dev/console, where cloud-init writes.
			consoles := regexpAll(got, `console=\S+`)
			assert.Equal(t, "console=ttyS0,115200n8", consoles[len(consoles)-1])
		})
	}
}

func regexpAll(s, pattern string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if strings.HasPrefix(w, strings.SplitN(pattern, "=", 2)[0]+"=") {
			out = append(out, w)
		}
	}
	return out
}

func TestFstab(t *testing.T) {
	t.Parallel()
	got := fstab(testRootUUID, testESPUUID)
	var entries [][]string
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if !strings.HasPrefix(l, "#") {
			entries = append(entries, strings.Fields(l))
		}
	}
	assert.Equal(t, [][]string{
		{"UUID=" + testRootUUID, "/", "ext4", "errors=remount-ro", "0", "1"},
		{"PARTUUID=" + testESPUUID, "/boot/efi", "vfat", "umask=0077,nofail", "0", "0"},
	}, entries)
}

func TestAptSources(t *testing.T) {
	t.Parallel()
	const head = "# Written by kubebake base.\n"
	main := func(mirror, suites string) string {
		return "Types: deb\nURIs: " + mirror + "\nSuites: " + suites + "\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
	}
	cases := []struct {
		name                    string
		suite, mirror, security string
		noUpdates               bool
		want                    string
	}{
		{name: "mirror, updates and security", suite: "trixie", mirror: DefaultMirror, security: DefaultSecurityMirror,
			want: head + main(DefaultMirror, "trixie trixie-updates") + "\n" + main(DefaultSecurityMirror, "trixie-security")},
		{name: "air-gapped mirror only", suite: "bookworm", mirror: "http://mirror.internal/debian", noUpdates: true,
			want: head + main("http://mirror.internal/debian", "bookworm")},
		{name: "no security mirror", suite: "trixie", mirror: DefaultMirror,
			want: head + main(DefaultMirror, "trixie trixie-updates")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, aptSources(tc.suite, tc.mirror, tc.security, tc.noUpdates))
		})
	}
}

func TestLockRoot(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want, err string
	}{
		{name: "already locked", in: "root:*:20779:0:99999:7:::\ndaemon:*:20779:0:99999:7:::\n",
			want: "root:*:20779:0:99999:7:::\ndaemon:*:20779:0:99999:7:::\n"},
		{name: "password removed", in: "daemon:*:1:0:99999:7:::\nroot:$y$j9T$abc$def:20779:0:99999:7:::\n",
			want: "daemon:*:1:0:99999:7:::\nroot:*:20779:0:99999:7:::\n"},
		{name: "empty password locked", in: "root::20779:0:99999:7:::", want: "root:*:20779:0:99999:7:::"},
		{name: "no root", in: "daemon:*:1:0:99999:7:::\n", err: "/etc/shadow: no root entry"},
		{name: "malformed", in: "root\n", err: "/etc/shadow: malformed root entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := lockRoot([]byte(tc.in))
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestKernelVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files []string
		want  string
		err   string
	}{
		{name: "trixie", files: []string{"System.map-6.12.107+deb13-cloud-amd64", "config-6.12.107+deb13-cloud-amd64",
			"initrd.img-6.12.107+deb13-cloud-amd64", "vmlinuz-6.12.107+deb13-cloud-amd64"}, want: "6.12.107+deb13-cloud-amd64"},
		{name: "none", files: []string{"efi"}, err: "no kernel (/boot/vmlinuz-*) in the root file system"},
		{name: "two", files: []string{"vmlinuz-6.1.0-49-cloud-amd64", "vmlinuz-6.1.0-50-cloud-amd64"},
			err: "more than one kernel in /boot: 6.1.0-49-cloud-amd64, 6.1.0-50-cloud-amd64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := kernelVersion(tc.files)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// fakeTool writes an executable script named name into dir that appends its
// name and arguments, one per line, to $KB_CALLS, then runs body.
func fakeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	record := "{ echo \"" + name + "\"; for a in \"$@\"; do echo \"  $a\"; done; } >>\"$KB_CALLS\"\n"
	writeTool(t, dir, name, record+body)
}

// writeTool writes an executable shell script named name into dir.
func writeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	script := "#!/bin/sh\n" + body + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755))
}

// TestUKIHook runs the rendered hook with fake ukify, objcopy and system
// tools, and checks what it runs.
func TestUKIHook(t *testing.T) {
	t.Parallel()
	const version = "6.1.0-50-cloud-amd64"
	type call = string
	cases := []struct {
		name      string
		tool      ukiTool
		outputEnv bool   // KUBEBAKE_UKI_OUTPUT set, as during the build
		versions  string // linux-version list
		mounted   bool   // mountpoint /boot/efi succeeds
		calls     string // the tool calls expected, as fakeTool logs them
		stderr    string
		wrote     bool
	}{
		{
			name: "ukify during the build", tool: ukify, outputEnv: true,
			calls: "ukify\n  build\n  --linux=/boot/vmlinuz-" + version + "\n  --initrd=/boot/initrd.img-" + version + "\n" +
				"  --cmdline=@/etc/kernel/cmdline\n  --os-release=@/etc/os-release\n  --uname=" + version + "\n" +
				"  --stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub\n  --output=OUT.new\n",
			stderr: "kubebake-uki: wrote OUT for " + version, wrote: true,
		},
		{
			name: "objcopy during the build, initramfs after the 14 MB kernel", tool: objcopyStub, outputEnv: true,
			calls: "stat\n  -c\n  %s\n  /boot/vmlinuz-" + version + "\n" +
				"objcopy\n  --add-section\n  .osrel=/etc/os-release\n  --change-section-vma\n  .osrel=0x20000\n" +
				"  --add-section\n  .cmdline=/etc/kernel/cmdline\n  --change-section-vma\n  .cmdline=0x30000\n" +
				"  --add-section\n  .linux=/boot/vmlinuz-" + version + "\n  --change-section-vma\n  .linux=0x2000000\n" +
				"  --add-section\n  .initrd=/boot/initrd.img-" + version + "\n  --change-section-vma\n  .initrd=0x2d7f000\n" +
				"  /usr/lib/systemd/boot/efi/linuxx64.efi.stub\n  OUT.new\n",
			stderr: "kubebake-uki: wrote OUT for " + version, wrote: true,
		},
		{
			name: "a newer kernel is installed", tool: ukify, versions: version + "\n6.1.0-51-cloud-amd64\n",
			stderr: "kubebake-uki: " + version + " is not the newest kernel (6.1.0-51-cloud-amd64); UKI left as is",
		},
		{
			name: "ESP not mounted", tool: ukify, versions: version + "\n",
			calls:  "mountpoint\n  -q\n  /boot/efi\n",
			stderr: "kubebake-uki: /boot/efi is not mounted; UKI not updated",
		},
		{
			name: "ESP mounted: the UKI on it is replaced", tool: ukify, versions: version + "\n", mounted: true,
			calls: "mountpoint\n  -q\n  /boot/efi\n" +
				"rm\n  -f\n  /boot/efi/EFI/BOOT/BOOTX64.EFI.new\n" +
				"ukify\n  build\n  --linux=/boot/vmlinuz-" + version + "\n  --initrd=/boot/initrd.img-" + version + "\n" +
				"  --cmdline=@/etc/kernel/cmdline\n  --os-release=@/etc/os-release\n  --uname=" + version + "\n" +
				"  --stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub\n  --output=/boot/efi/EFI/BOOT/BOOTX64.EFI.new\n" +
				"mv\n  /boot/efi/EFI/BOOT/BOOTX64.EFI.new\n  /boot/efi/EFI/BOOT/BOOTX64.EFI\n",
			stderr: "kubebake-uki: wrote /boot/efi/EFI/BOOT/BOOTX64.EFI for " + version,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.Mkdir(bin, 0o755))
			hook := filepath.Join(dir, "hook")
			require.NoError(t, os.WriteFile(hook, []byte(ukiHook(tc.tool)), 0o755))
			calls := filepath.Join(dir, "calls")
			out := filepath.Join(dir, "uki.efi")
			// Tools that write the UKI create their output; the ones that
			// would touch /boot/efi only record.
			fakeTool(t, bin, "ukify", `for a; do case "$a" in --output=*) o="${a#--output=}";; esac; done; case "$o" in /boot/*) ;; *) echo MZ >"$o";; esac`)
			fakeTool(t, bin, "objcopy", `for a; do o="$a"; done; echo MZ >"$o"`)
			fakeTool(t, bin, "stat", `echo 14149568`)
			// Not recorded: list and sort run at once, in a pipe.
			writeTool(t, bin, "linux-version", `if [ "$1" = list ]; then printf '%s' "$KB_VERSIONS"; else sort -V; fi`)
			exit := "1"
			if tc.mounted {
				exit = "0"
			}
			fakeTool(t, bin, "mountpoint", "exit "+exit)
			fakeTool(t, bin, "rm", "")
			fakeTool(t, bin, "mv", "")
			if tc.outputEnv {
				// rm and mv are the real ones when the output is ours.
				require.NoError(t, os.Remove(filepath.Join(bin, "rm")))
				require.NoError(t, os.Remove(filepath.Join(bin, "mv")))
			}
			cmd := exec.Command("/bin/sh", hook, version, "/boot/initrd.img-"+version)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "KB_CALLS=" + calls, "KB_VERSIONS=" + tc.versions}
			if tc.outputEnv {
				cmd.Env = append(cmd.Env, "KUBEBAKE_UKI_OUTPUT="+out)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Run(), stderr.String())
			got, err := os.ReadFile(calls)
			if err != nil {
				got = nil
			}
			assert.Equal(t, tc.calls, strings.ReplaceAll(string(got), out, "OUT"))
			assert.Equal(t, tc.stderr, strings.TrimSpace(strings.ReplaceAll(stderr.String(), out, "OUT")))
			_, err = os.Stat(out)
			assert.Equal(t, tc.wrote, err == nil, "UKI written")
			_, err = os.Stat(out + ".new")
			assert.True(t, os.IsNotExist(err), "no .new file left")
		})
	}
}

// TestUKIHookShellcheck checks both hooks with shellcheck, when installed.
func TestUKIHookShellcheck(t *testing.T) {
	t.Parallel()
	sc := testutil.Tool(t, "shellcheck")
	for _, tool := range []ukiTool{ukify, objcopyStub} {
		cmd := exec.Command(sc, "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(ukiHook(tool))
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "tool %d:\n%s", tool, out)
	}
}
