package base

// The boot test builds real images and boots them under QEMU (TCG) with
// OVMF. It runs only with KUBEBAKE_E2E=1, as root, and never under -short:
//
//	sudo KUBEBAKE_E2E=1 go test ./internal/base -run TestBootE2E -v -timeout 60m
//
// KUBEBAKE_E2E_DISTROS lists the distros (default debian-13);
// KUBEBAKE_E2E_OUT keeps the images, serial logs and a summary (default: a
// temporary directory). Package tarballs are cached in _build/cache/base.
// hack/e2e-base.sh installs what it needs and runs it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/vm"
)

const (
	// e2eMarker starts the line the seed's runcmd writes to the console.
	e2eMarker = "KUBEBAKE-E2E-OK"
	// e2eHostname is the seed's local-hostname.
	e2eHostname = "kubebake-e2e"
	// e2eDiskSize is the overlay's size, larger than the image so growpart
	// has something to grow.
	e2eDiskSize = "6G"
)

// e2eReport is the runcmd that reports on the console what the test checks:
// the hostname, the address from QEMU's DHCP, the root device and size (after
// growpart), the kernel, the ESP's file system, and whether the kernel
// command line has the test's mark.
const e2eReport = `  - [sh, -c, 'echo "` + e2eMarker + ` host=$(hostname) ip=$(ip -4 -o addr show scope global | awk "{print \$4}" | head -n 1) root=$(findmnt -no SOURCE /) size=$(df -BM --output=size / | tail -n 1 | tr -d " M") kernel=$(uname -r) esp=$(findmnt -no FSTYPE /boot/efi) mark=$(grep -o "kubebake.e2e=[a-z]*" /proc/cmdline || echo kubebake.e2e=none)" > /dev/console']
`

// e2ePowerOff makes cloud-init power off once it is done.
const e2ePowerOff = `power_state:
  mode: poweroff
  delay: now
  condition: true
`

// e2eUserData is the first boot's user-data: report, then add a mark to
// /etc/kernel/cmdline and run update-initramfs, whose kubebake hook rebuilds
// the UKI on the ESP, as a kernel upgrade would.
const e2eUserData = "#cloud-config\nruncmd:\n" + e2eReport +
	`  - [sh, -c, 'sed -i "s/\$/ kubebake.e2e=rebuilt/" /etc/kernel/cmdline && update-initramfs -u > /dev/console 2>&1']
` + e2ePowerOff

// e2eUserDataReport is the second boot's user-data: report only, so the
// boot's time is cloud-init's alone.
const e2eUserDataReport = "#cloud-config\nruncmd:\n" + e2eReport + e2ePowerOff

// Milestones in the serial log, in boot order.
var e2eMilestones = []struct {
	name string
	re   *regexp.Regexp
}{
	{"kernel", regexp.MustCompile(`Linux version `)},
	{"multi-user", regexp.MustCompile(`Reached target .*multi-user\.target`)},
	{"marker", regexp.MustCompile(e2eMarker + ` `)},
	{"cloud-init done", regexp.MustCompile(`Cloud-init v\. \S+ finished at`)},
}

// e2eSummary is what one distro's boot test measured.
type e2eSummary struct {
	Distro   string             `json:"distro"`
	Manifest *Manifest          `json:"manifest"`
	Boot     map[string]float64 `json:"bootSeconds"`
	Markers  []string           `json:"markers"`
}

func TestBootE2E(t *testing.T) {
	if os.Getenv("KUBEBAKE_E2E") != "1" {
		t.Skip("set KUBEBAKE_E2E=1 to build and boot real images (root; a few minutes per distro)")
	}
	if testing.Short() {
		t.Skip("boots VMs; not under -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the boot test builds images, which needs root")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	require.NoError(t, err, "apt-get install qemu-system-x86 qemu-utils ovmf")
	cache, err := filepath.Abs(filepath.Join("..", "..", DefaultCacheDir))
	require.NoError(t, err)
	names := strings.Fields(os.Getenv("KUBEBAKE_E2E_DISTROS"))
	if len(names) == 0 {
		names = []string{"debian-13"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			out := os.Getenv("KUBEBAKE_E2E_OUT")
			if out == "" {
				out = t.TempDir()
			}
			out = filepath.Join(out, name)
			require.NoError(t, os.MkdirAll(out, 0o755))
			bootE2E(t, qemu, cache, name, out)
		})
	}
}

// bootE2E builds distro into out, boots it and checks what cloud-init did.
func bootE2E(t *testing.T, qemu, cache, distro, out string) {
	ctx := context.Background()
	image := filepath.Join(out, distro+".qcow2")
	var log bytes.Buffer
	m, err := Build(ctx, Options{
		Distro: distro, Output: image, CacheDir: cache, WorkDir: out,
		SecurityMirror: DefaultSecurityMirror, Log: &log,
	})
	t.Logf("build log:\n%s", log.String())
	require.NoError(t, err)

	overlay := filepath.Join(out, "overlay.qcow2")
	_ = os.Remove(overlay)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay, e2eDiskSize)
	code, vars, err := vm.Firmware("", "", out)
	require.NoError(t, err, "apt-get install ovmf")
	// TCG: KVM does not work everywhere these images are tested.
	machine := vm.Config{Accel: vm.AccelTCG, OVMFCode: code, OVMFVars: vars, Disks: []vm.Disk{{Path: overlay, Format: "qcow2"}}}

	// First boot: a fresh instance; its runcmd rebuilds the UKI with a mark
	// on the kernel command line.
	first := bootOnce(t, qemu, machine, out, "boot1", e2eUserData)
	fields := markerFields(t, first.marker)
	assert.Equal(t, e2eHostname, fields["host"], first.marker)
	assert.Equal(t, "10.0.2.15/24", fields["ip"], first.marker)
	assert.Equal(t, "/dev/vda2", fields["root"], first.marker)
	assert.Equal(t, m.Kernel, fields["kernel"], first.marker)
	assert.Equal(t, "vfat", fields["esp"], first.marker)
	assert.Equal(t, "kubebake.e2e=none", fields["mark"], first.marker)
	size, _ := strconv.ParseInt(fields["size"], 10, 64)
	assert.Greater(t, size*mib, m.Root.Size, "growpart grew the root file system: %s", first.marker)
	assert.Contains(t, first.log, "kubebake-uki: wrote /boot/efi/EFI/BOOT/BOOTX64.EFI for "+m.Kernel)

	// Second boot, another instance: the firmware boots the UKI the image's
	// hook rebuilt on the ESP.
	second := bootOnce(t, qemu, machine, out, "boot2", e2eUserDataReport)
	fields = markerFields(t, second.marker)
	assert.Equal(t, "kubebake.e2e=rebuilt", fields["mark"], "booted the UKI rebuilt in the guest: %s", second.marker)
	seen := first.seen
	for k, v := range second.seen {
		seen["second boot: "+k] = v
	}

	// What cloud-init recorded, read from the root file system without
	// mounting it.
	if _, err := exec.LookPath("debugfs"); err == nil {
		raw := filepath.Join(out, "overlay.raw")
		run(t, "qemu-img", "convert", "-O", "raw", overlay, raw)
		defer os.Remove(raw)
		dev := fmt.Sprintf("%s?offset=%d", raw, m.Root.Start)
		result := run(t, "debugfs", "-R", "cat /var/lib/cloud/data/result.json", dev)
		var res struct {
			V1 struct {
				Datasource string   `json:"datasource"`
				Errors     []string `json:"errors"`
			} `json:"v1"`
		}
		require.NoError(t, json.Unmarshal(result, &res), "%s", result)
		assert.Contains(t, res.V1.Datasource, "DataSourceNoCloud")
		assert.Empty(t, res.V1.Errors, "cloud-init's errors")
		cilog := run(t, "debugfs", "-R", "cat /var/log/cloud-init.log", dev)
		for _, l := range strings.Split(string(cilog), "\n") {
			if strings.Contains(l, "[WARNING]") {
				t.Errorf("cloud-init.log: %s", l)
			}
		}
		// The image has no SSH host keys; cloud-init made them.
		assert.NotEmpty(t, run(t, "debugfs", "-R", "cat /etc/ssh/ssh_host_ed25519_key.pub", dev))
	}

	r := e2eSummary{Distro: m.Distro, Manifest: m, Boot: seen, Markers: []string{first.marker, second.marker}}
	j, err := json.MarshalIndent(r, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(out, "e2e.json"), j, 0o644))
	t.Logf("%s: stages %v; qcow2 %d MiB, raw allocated %d MiB; boot %v", m.Distro, m.Stages, m.Sizes.QCOW2>>20, m.Sizes.RawAllocated>>20, seen)
}

// bootResult is what one boot showed.
type bootResult struct {
	// seen is when each milestone showed, in seconds after QEMU started.
	seen   map[string]float64
	marker string
	log    string
}

// bootOnce boots vm with a new NoCloud seed holding userData (a new
// instance, so cloud-init runs it even on a disk booted before) until
// cloud-init has finished and powered off. name names the seed and serial
// log files in out.
func bootOnce(t *testing.T, qemu string, machine vm.Config, out, name, userData string) bootResult {
	t.Helper()
	seed := filepath.Join(out, name+"-seed.iso")
	require.NoError(t, nocloud.WriteSeed(seed, nocloud.Seed{
		UserData: []byte(userData), MetaData: nocloud.DefaultMetaData("", e2eHostname)}))
	machine.Disks = append(append([]vm.Disk{}, machine.Disks...), vm.Disk{Path: seed, Format: "raw", ReadOnly: true})
	machine.SerialLog = filepath.Join(out, name+"-serial.log")
	_ = os.Remove(machine.SerialLog)

	timeout := 6 * time.Minute
	if s := os.Getenv("KUBEBAKE_E2E_BOOT_TIMEOUT"); s != "" {
		var err error
		timeout, err = time.ParseDuration(s)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+2*time.Minute)
	defer cancel()
	args, err := vm.Args(machine)
	require.NoError(t, err)
	t.Logf("%s: %s %s", name, qemu, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, qemu, args...)
	var qemuOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &qemuOut, &qemuOut
	start := time.Now()
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	seen := map[string]float64{}
	var exitErr error
	done := false
	deadline := time.After(timeout)
poll:
	for {
		select {
		case exitErr = <-exited:
			done = true
			break poll
		case <-deadline:
			break poll
		case <-time.After(time.Second):
		}
		text, _ := os.ReadFile(machine.SerialLog)
		for _, ms := range e2eMilestones {
			if _, ok := seen[ms.name]; !ok && ms.re.Match(text) {
				seen[ms.name] = time.Since(start).Seconds()
				t.Logf("%s: %s after %.0fs", name, ms.name, seen[ms.name])
			}
		}
		if bytes.Contains(text, []byte("Kernel panic")) {
			break
		}
		if _, ok := seen["cloud-init done"]; ok {
			// power_state powers off once cloud-init has finished.
			select {
			case exitErr = <-exited:
				done = true
			case <-time.After(2 * time.Minute):
			}
			break
		}
	}
	if !done {
		_ = cmd.Process.Kill()
		<-exited
	} else {
		seen["qemu exit"] = time.Since(start).Seconds()
	}
	text, _ := os.ReadFile(machine.SerialLog)
	t.Logf("%s: serial log, the lines that matter:\n%s", name, interestingLines(string(text)))
	require.True(t, done, "%s: QEMU still running after cloud-init finished (or after %s); serial log %s", name, timeout, machine.SerialLog)
	require.NoError(t, exitErr, "%s: QEMU: %s", name, qemuOut.String())
	require.Contains(t, seen, "cloud-init done", "%s: QEMU exited before cloud-init finished; serial log %s", name, machine.SerialLog)
	require.Contains(t, seen, "marker")
	return bootResult{seen: seen, marker: regexp.MustCompile(e2eMarker + ` .*`).FindString(string(text)), log: string(text)}
}

// markerFields splits the marker line's key=value fields.
func markerFields(t *testing.T, marker string) map[string]string {
	t.Helper()
	words := strings.Fields(marker)
	require.NotEmpty(t, words, "no marker line")
	fields := map[string]string{}
	for _, f := range words[1:] {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	return fields
}

// interestingLines are the serial log's lines that show the boot's progress.
func interestingLines(log string) string {
	re := regexp.MustCompile(`Linux version|EFI stub|Reached target .*multi-user|Cloud-init v\.|` + e2eMarker +
		`|Kernel panic|Failed to start|FAILED|Power down|reboot:`)
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if re.MatchString(l) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

// run runs a command and returns its standard output, failing the test if it
// fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return out
}
