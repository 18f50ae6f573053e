package qemu

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

// mockDriver records qemu-img calls and started machines; qemu-img
// convert writes the destination so the steps after it see a file.
type mockDriver struct {
	mu       sync.Mutex
	calls    [][]string
	started  [][]string
	machines []*mockMachine
	failOn   string // a qemu-img subcommand that fails
	accel    string
	noOVMF   bool
	// poweroff makes machines exit at once with this console.
	console string
}

func (d *mockDriver) QemuImg(_ context.Context, args ...string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, args)
	if args[0] == d.failOn {
		return "", errors.New("qemu-img " + args[0] + ": boom")
	}
	switch args[0] {
	case "info":
		return "image: x\nfile format: qcow2\nvirtual size: 2 GiB\n", nil
	case "convert":
		return "", os.WriteFile(args[len(args)-1], []byte("image"), 0o644)
	case "create":
		return "", os.WriteFile(args[8], []byte("overlay"), 0o644)
	}
	return "", nil
}

func (d *mockDriver) ResolveAccel(_ context.Context, mode string) (string, string, error) {
	if mode == "auto" {
		return d.accel, "probed", nil
	}
	return mode, "asked", nil
}

func (d *mockDriver) Firmware(_, _, work string) (string, string, error) {
	if d.noOVMF {
		return "", "", errors.New("no OVMF")
	}
	return "/usr/share/OVMF/OVMF_CODE_4M.fd", filepath.Join(work, "vars.fd"), nil
}

func (d *mockDriver) Start(args []string, _ string) (Machine, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.started = append(d.started, args)
	m := &mockMachine{console: d.console}
	d.machines = append(d.machines, m)
	return m, nil
}

type mockMachine struct {
	mu      sync.Mutex
	console string
	stopped bool
	hang    bool
}

func (m *mockMachine) Wait(ctx context.Context, timeout time.Duration) error {
	if m.hang {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(timeout):
			return errors.New("timeout")
		}
	}
	return nil
}
func (m *mockMachine) Stop(time.Duration) { m.mu.Lock(); m.stopped = true; m.mu.Unlock() }
func (m *mockMachine) Exited() bool       { m.mu.Lock(); defer m.mu.Unlock(); return m.stopped }
func (m *mockMachine) Serial() []byte     { return []byte(m.console) }

func sourceImage(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(f, []byte("qcow2 bytes"), 0o644))
	return f
}

func TestPrepareDefaults(t *testing.T) {
	var c Config
	_, err := c.Prepare(map[string]interface{}{"source_image": sourceImage(t), "packer_build_name": "node"})
	require.NoError(t, err)
	assert.Equal(t, "node", c.VMName)
	assert.Equal(t, "output-node", c.OutputDirectory)
	assert.Equal(t, "qcow2", c.Format)
	assert.True(t, *c.Compress)
	assert.Equal(t, "auto", c.Accelerator)
	assert.Equal(t, 2, c.CPUs)
	assert.Equal(t, 2048, c.Memory)
	assert.Equal(t, "kubebake-build", c.Comm.SSHUsername)
	assert.Equal(t, "ed25519", c.Comm.SSHTemporaryKeyPairType)
	assert.Equal(t, "", c.CPUModel, "the CPU follows the accelerator unless set")
}

// TestPrepareQemuPluginNames: the names a packer-plugin-qemu user types
// set the same settings; giving both names of one setting is an error.
func TestPrepareQemuPluginNames(t *testing.T) {
	t.Parallel()
	src := sourceImage(t)
	tests := []struct {
		name    string
		raw     map[string]interface{}
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{
			name: "their names",
			raw:  map[string]interface{}{"disk_compression": false, "efi_firmware_code": "/fw/CODE.fd", "efi_firmware_vars": "/fw/VARS.fd", "efi_boot": true},
			check: func(t *testing.T, c *Config) {
				assert.False(t, *c.Compress)
				assert.Equal(t, "/fw/CODE.fd", c.OVMFCode)
				assert.Equal(t, "/fw/VARS.fd", c.OVMFVars)
				assert.Equal(t, "uefi", c.Firmware)
			},
		},
		{name: "efi_boot false", raw: map[string]interface{}{"efi_boot": false}, check: func(t *testing.T, c *Config) { assert.Equal(t, "bios", c.Firmware) }},
		{name: "both names agree", raw: map[string]interface{}{"ovmf_code": "/a", "efi_firmware_code": "/a"}, check: func(t *testing.T, c *Config) { assert.Equal(t, "/a", c.OVMFCode) }},
		{name: "both names differ", raw: map[string]interface{}{"ovmf_code": "/a", "efi_firmware_code": "/b"}, wantErr: "efi_firmware_code and ovmf_code name the same setting: give one"},
		{name: "compression both ways", raw: map[string]interface{}{"compress": true, "disk_compression": false}, wantErr: "disk_compression and compress name the same setting"},
		{name: "efi_boot against firmware", raw: map[string]interface{}{"firmware": "bios", "efi_boot": true}, wantErr: "efi_boot and firmware name the same setting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := map[string]interface{}{"source_image": src, "output_directory": filepath.Join(t.TempDir(), "out")}
			for k, v := range tc.raw {
				raw[k] = v
			}
			var c Config
			_, err := c.Prepare(raw)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, &c)
		})
	}
}

func TestPrepareReportsEveryBadField(t *testing.T) {
	out := t.TempDir()
	var c Config
	_, err := c.Prepare(map[string]interface{}{
		"source_image":          "https://example.com/debian.qcow2",
		"output_directory":      out,
		"format":                "vdi",
		"disk_size":             "20 gigs",
		"accelerator":           "hvf",
		"cpus":                  -1,
		"memory":                256,
		"firmware":              "coreboot",
		"vm_name":               "a/b",
		"firstboot_binary":      "/x",
		"communicator":          "winrm",
		"source_image_checksum": "",
	})
	require.Error(t, err)
	for _, want := range []string{
		"source_image_checksum: required for a URL",
		"output_directory: \"" + out + "\" exists",
		`format: "vdi" must be one of ova, qcow2, raw, vhd, vhdx, vmdk`,
		`disk_size: "20 gigs"`,
		`accelerator: "hvf" must be auto, kvm or tcg`,
		"cpus: -1",
		"memory: 256 MiB",
		`firmware: "coreboot"`,
		`vm_name: "a/b"`,
		"firstboot_binary: only used with ignition_recipe",
		`communicator: "winrm" is not supported`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = (&Config{}).Prepare(map[string]interface{}{"source_image": "/nonexistent.qcow2", "source_image_checksum": "abc"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `source_image: "/nonexistent.qcow2" is not a readable file`)
	assert.Contains(t, err.Error(), `source_image_checksum: "abc" must be TYPE:VALUE`)
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"overlay", overlayArgs("/b.qcow2", "qcow2", "/w/disk.qcow2", ""), []string{"create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "/b.qcow2", "/w/disk.qcow2"}},
		{"overlay grown", overlayArgs("/b.raw", "raw", "/w/disk.qcow2", "20G"), []string{"create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/b.raw", "/w/disk.qcow2", "20G"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.got) })
	}
	for info, want := range map[string]string{"file format: raw\n": "raw", "file format: qcow2\n": "qcow2", "": "qcow2"} {
		assert.Equal(t, want, sourceFormat(info, "/x.qcow2"))
	}
	assert.Equal(t, "raw", sourceFormat("", "/x.img"))
}

func TestMachineConfig(t *testing.T) {
	c := &Config{CPUs: 4, Memory: 4096, QemuArgs: []string{"-device", "virtio-rng-pci"}}
	tcg := machineConfig(c, vm.AccelTCG, "/w/disk.qcow2", "/w/seed.iso", "", "", "/w/serial.log", 2222)
	args, err := vm.Args(tcg)
	require.NoError(t, err)
	joined := strings.Join(args, " ")
	assert.Contains(t, joined, "-cpu "+vm.DefaultTCGCPU, "the TCG default CPU works on these hosts")
	assert.Contains(t, joined, "-smp 4")
	assert.Contains(t, joined, "-m 4096")
	assert.Contains(t, joined, "hostfwd=tcp:127.0.0.1:2222-:22")
	assert.Contains(t, joined, "file=/w/seed.iso")
	assert.True(t, strings.HasSuffix(joined, "-device virtio-rng-pci"), "extra arguments come last")

	c.CPUModel = "Haswell"
	ign := machineConfig(c, vm.AccelKVM, "/w/disk.qcow2", "", "", "/w/config.ign", "/w/serial.log", 0)
	args, err = vm.Args(ign)
	require.NoError(t, err)
	joined = strings.Join(args, " ")
	assert.Contains(t, joined, "-cpu Haswell")
	assert.Contains(t, joined, "-fw_cfg name=opt/com.coreos/config,file=/w/config.ign")
	assert.NotContains(t, joined, "seed")
}

// TestMachineConfigStageDisk: the stage disk is the third drive, raw and
// read-only, with the serial the guest finds it by; without one the
// machine has no such drive.
func TestMachineConfigStageDisk(t *testing.T) {
	tests := []struct {
		name        string
		seed, stage string
		want        []string
		wantNot     []string
	}{
		{
			name: "with a stage disk", seed: "/w/seed.iso", stage: "/w/stage.raw",
			want: []string{
				"-drive if=virtio,index=1,format=raw,file=/w/seed.iso,readonly=on",
				"-drive if=none,id=disk2,format=raw,file=/w/stage.raw,readonly=on -device virtio-blk-pci,drive=disk2,serial=kubebake-stage",
			},
		},
		{name: "without", seed: "/w/seed.iso", wantNot: []string{"stage", "serial="}},
		{name: "a path with a comma", seed: "/w/seed.iso", stage: "/w,x/stage.raw", want: []string{"file=/w,,x/stage.raw,readonly=on"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args, err := vm.Args(machineConfig(&Config{}, vm.AccelTCG, "/w/disk.qcow2", tc.seed, tc.stage, "", "/w/serial.log", 2222))
			require.NoError(t, err)
			joined := strings.Join(args, " ")
			for _, w := range tc.want {
				assert.Contains(t, joined, w)
			}
			for _, w := range tc.wantNot {
				assert.NotContains(t, joined, w)
			}
		})
	}
}

func newState(t *testing.T, c *Config, d Driver) (*multistep.BasicStateBag, *bytes.Buffer) {
	t.Helper()
	ui, out := recordingUI()
	state := new(multistep.BasicStateBag)
	state.Put(keyConfig, c)
	state.Put(keyDriver, d)
	state.Put(keyUI, ui)
	return state, out
}

// recordingUI is Packer's own BasicUi writing every line to a buffer the
// test reads.
func recordingUI() (*packersdk.BasicUi, *bytes.Buffer) {
	var out bytes.Buffer
	return &packersdk.BasicUi{Writer: &out, ErrorWriter: &out, PB: &packersdk.NoopProgressTracker{}}, &out
}

func TestVerifySourceChecksum(t *testing.T) {
	src := sourceImage(t)
	for _, tc := range []struct {
		name, checksum string
		ok             bool
	}{
		{"none", "none", true},
		{"empty", "", true},
		{"right sha256", "sha256:0d85f4d9d7b6e1b7c73d4c4d2d4e0c3b6c9cbf0d9c8f52f7d1c8b2c7f1f7b0d5", false},
		{"wrong type", "md5:abc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, _ := newState(t, &Config{}, &mockDriver{})
			action := (&stepVerifySource{path: src, checksum: tc.checksum}).Run(context.Background(), state)
			assert.Equal(t, tc.ok, action == multistep.ActionContinue, "%v", state.Get("error"))
		})
	}
	sum := sha256Hex(t, src)
	state, _ := newState(t, &Config{}, &mockDriver{})
	assert.Equal(t, multistep.ActionContinue, (&stepVerifySource{path: src, checksum: "sha256:" + sum}).Run(context.Background(), state))
	assert.Equal(t, src, state.Get(keySource))
}

// TestIgnitionBuildAndCleanup runs the Fedora CoreOS flow against the mock
// driver: overlay, Ignition through fw_cfg, the wait for the guest's
// verdict, the atomic output and manifest; then a failing run leaves no
// work directory, process or partial image behind.
func TestIgnitionBuildAndCleanup(t *testing.T) {
	fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("firstboot"), 0o755))
	tmp := t.TempDir()
	t.Setenv("PACKER_TMP_DIR", tmp)
	out := filepath.Join(t.TempDir(), "out")
	raw := map[string]interface{}{
		"source_image": sourceImage(t), "output_directory": out, "vm_name": "fcos",
		"ignition_recipe": "fedora-coreos-cri-o", "firstboot_binary": fb, "accelerator": "tcg",
	}
	d := &mockDriver{console: "...\nkubebake-bake: SUCCESS\n"}
	b := &Builder{driver: d}
	_, _, err := b.Prepare(raw)
	require.NoError(t, err)
	ui, uiOut := recordingUI()
	art, err := b.Run(context.Background(), ui, nil)
	require.NoError(t, err, uiOut.String())
	assert.Equal(t, []string{filepath.Join(out, "fcos.qcow2"), filepath.Join(out, "manifest.json")}, art.Files())
	require.Len(t, d.started, 1)
	assert.Contains(t, strings.Join(d.started[0], " "), "name=opt/com.coreos/config,file=")
	assert.True(t, d.machines[0].stopped, "the machine is stopped at cleanup")
	entries, _ := os.ReadDir(tmp)
	assert.Empty(t, entries, "the work directory is removed")
	m, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	require.NoError(t, err)
	assert.Contains(t, string(m), `"sha256": "`)
	assert.Contains(t, string(m), `"recipe": "fedora-coreos-cri-o"`)

	// HCP Packer's registry reads the image through the SDK's own type.
	img, ok := art.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	require.True(t, ok, "par.artifact.metadata is a registry image")
	require.NoError(t, img.Validate())
	assert.Equal(t, BuilderID, img.ProviderName)
	assert.Equal(t, "fcos.qcow2", img.ImageID)
	assert.Equal(t, out, img.ProviderRegion)
	assert.Equal(t, "fedora-coreos-cri-o", img.Labels["recipe"])
	assert.Equal(t, "cri-o", img.Labels["runtime"])
	assert.Regexp(t, `^v1\.\d+\.\d+$`, img.Labels["kubernetes_version"])
	assert.Regexp(t, `^[0-9a-f]{64}$`, img.Labels["sha256"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, img.Labels["plan_digest"], "the plan the image was baked from")
	gd, ok := art.State("generated_data").(map[string]any)
	require.True(t, ok)
	assert.Equal(t, filepath.Join(out, "fcos.qcow2"), gd["ImagePath"])
	assert.Equal(t, img.Labels["sha256"], gd["ImageSHA256"])
	assert.Equal(t, "fedora-coreos-cri-o", gd["Recipe"])
	assert.Equal(t, img.Labels["plan_digest"], gd["PlanDigest"])
	vars, _, err := (&Builder{}).Prepare(map[string]interface{}{
		"source_image": raw["source_image"], "output_directory": filepath.Join(t.TempDir(), "other"),
		"ignition_recipe": "fedora-coreos-cri-o", "firstboot_binary": fb, "accelerator": "tcg",
	})
	require.NoError(t, err)
	require.NotEmpty(t, vars)
	for _, v := range vars {
		assert.Contains(t, gd, v, "every generated variable has a value")
	}

	// The guest fails: the build fails with its verdict, and nothing is left.
	out2 := filepath.Join(t.TempDir(), "out")
	raw["output_directory"] = out2
	d = &mockDriver{console: "kubebake-bake: FAILED: step /usr/local/libexec/kubebake/steps/05-runtime.sh\n"}
	b = &Builder{driver: d}
	_, _, err = b.Prepare(raw)
	require.NoError(t, err)
	_, err = b.Run(context.Background(), packersdk.TestUi(t), nil)
	require.ErrorContains(t, err, "the bake failed in the guest: FAILED: step /usr/local/libexec/kubebake/steps/05-runtime.sh")
	assert.True(t, d.machines[0].stopped)
	entries, _ = os.ReadDir(tmp)
	assert.Empty(t, entries)
	_, err = os.Stat(out2)
	assert.True(t, os.IsNotExist(err), "no output directory for a failed build")
}

// TestConvertFailureLeavesNoPartialImage: qemu-img convert fails midway.
func TestConvertFailureLeavesNoPartialImage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c := &Config{OutputDirectory: out, VMName: "n", Format: "qcow2"}
	tr := true
	c.Compress = &tr
	d := &mockDriver{failOn: "convert"}
	state, _ := newState(t, c, d)
	state.Put(keyOverlay, "/w/disk.qcow2")
	s := &stepConvertImage{config: c}
	assert.Equal(t, multistep.ActionHalt, s.Run(context.Background(), state))
	s.Cleanup(state)
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries)
	assert.ErrorContains(t, state.Get("error").(error), "write the image: qemu-img convert: boom")
}

// TestCancelStopsTheMachine: a cancelled wait for the guest stops QEMU.
func TestCancelStopsTheMachine(t *testing.T) {
	c := &Config{Accelerator: "tcg", Firmware: "auto", CPUs: 2, Memory: 2048, QemuBinary: "qemu-system-x86_64"}
	d := &mockDriver{noOVMF: true}
	state, ui := newState(t, c, d)
	state.Put(keyWorkDir, t.TempDir())
	state.Put(keyOverlay, "/w/disk.qcow2")
	run := &stepRunMachine{config: c}
	require.Equal(t, multistep.ActionContinue, run.Run(context.Background(), state))
	assert.Contains(t, ui.String(), "no OVMF; booting with the BIOS")
	d.machines[0].hang = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Equal(t, multistep.ActionHalt, (&stepWaitPowerOff{timeout: time.Minute}).Run(ctx, state))
	run.Cleanup(state)
	assert.True(t, d.machines[0].stopped)
}

func TestWaitForSSH(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_10.0\r\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	assert.NoError(t, waitForSSH(ctx, &mockMachine{console: "booting"}, port, time.Minute))
	assert.ErrorIs(t, waitForSSH(ctx, &mockMachine{console: "[ 1.3] Kernel panic - not syncing: Fatal exception"}, port, time.Minute), errKernelPanic)
	assert.ErrorContains(t, waitForSSH(ctx, &mockMachine{stopped: true}, port, time.Minute), "QEMU exited")
	free, err := vm.FreePort()
	require.NoError(t, err)
	assert.ErrorContains(t, waitForSSH(ctx, &mockMachine{}, free, time.Millisecond), "did not answer")
}

// TestBootPanicIsRetriedOnce: a guest whose kernel panics is stopped and
// booted once more, then the build fails with its console.
func TestBootPanicIsRetriedOnce(t *testing.T) {
	c := &Config{Accelerator: "tcg", Firmware: "bios", CPUs: 2, Memory: 2048, QemuBinary: "qemu-system-x86_64"}
	c.Comm.SSHTimeout = time.Minute
	d := &mockDriver{console: "Kernel panic - not syncing: Fatal exception in interrupt\n"}
	state, ui := newState(t, c, d)
	state.Put(keyWorkDir, t.TempDir())
	state.Put(keyOverlay, "/w/disk.qcow2")
	run := &stepRunMachine{config: c, forward: true}
	assert.Equal(t, multistep.ActionHalt, run.Run(context.Background(), state))
	require.Len(t, d.machines, 2, "booted twice")
	assert.True(t, d.machines[0].stopped && d.machines[1].stopped)
	assert.Contains(t, ui.String(), "booting once more")
	assert.ErrorContains(t, state.Get("error").(error), "the guest's kernel panicked")
}
