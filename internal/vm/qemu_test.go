package vm_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

func TestArgs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cfg     vm.Config
		want    []string
		notWant []string
		err     string
	}{
		{
			name: "tcg defaults",
			cfg:  vm.Config{Accel: vm.AccelTCG, Disks: []vm.Disk{{Path: "/img/a.qcow2"}}},
			want: []string{"-machine q35", "-accel tcg", "-cpu qemu64,-cx16,-svm", "-smp 2", "-m 2048", "-no-reboot",
				"-drive if=virtio,index=0,format=qcow2,file=/img/a.qcow2,discard=unmap", "-netdev user,id=net0", "-serial none"},
			notWant: []string{"-qmp"},
		},
		{
			name:    "a machine that may reset, with a monitor",
			cfg:     vm.Config{Accel: vm.AccelTCG, Disks: []vm.Disk{{Path: "a"}}, Reboot: true, QMPSocket: "/w/qmp.sock"},
			want:    []string{"-qmp unix:/w/qmp.sock,server=on,wait=off"},
			notWant: []string{"-no-reboot"},
		},
		{
			name: "kvm uses the host CPU",
			cfg:  vm.Config{Accel: vm.AccelKVM, Disks: []vm.Disk{{Path: "a"}}},
			want: []string{"-accel kvm", "-cpu host"},
		},
		{
			name: "uefi, seed, snapshot, ssh forward, identity",
			cfg: vm.Config{
				Accel: vm.AccelTCG, OVMFCode: "/usr/share/OVMF/OVMF_CODE_4M.fd", OVMFVars: "/w/vars,1.fd",
				Disks:    []vm.Disk{{Path: "/w/disk.qcow2"}, {Path: "/w/seed.iso", Format: "raw", ReadOnly: true}},
				Snapshot: true, SSHPort: 2222, SerialLog: "/w/serial.log", UUID: "u-1", MAC: "52:54:00:00:00:01",
				MemoryMiB: 3072, SMP: 2,
			},
			want: []string{
				"-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
				"-drive if=pflash,format=raw,unit=1,file=/w/vars,,1.fd",
				"-drive if=virtio,index=1,format=raw,file=/w/seed.iso,readonly=on",
				"-snapshot", "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22",
				"-device virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01", "-serial file:/w/serial.log", "-uuid u-1", "-m 3072",
			},
		},
		{
			name:    "a private link instead of NAT",
			cfg:     vm.Config{Accel: vm.AccelTCG, Disks: []vm.Disk{{Path: "a"}}, Net: "stream,id=net0,server=on,addr.type=unix,addr.path=/w/l.sock"},
			want:    []string{"-netdev stream,id=net0,server=on,addr.type=unix,addr.path=/w/l.sock"},
			notWant: []string{"user,id=net0"},
		},
		{
			name: "a disk with a serial, as the guest finds it by id",
			cfg:  vm.Config{Accel: vm.AccelTCG, Disks: []vm.Disk{{Path: "a"}, {Path: "/w/stage,1.tar", Format: "raw", ReadOnly: true, Serial: "kubebake-stage"}}},
			want: []string{
				"-drive if=virtio,index=0,format=qcow2,file=a,discard=unmap",
				"-drive if=none,id=disk1,format=raw,file=/w/stage,,1.tar,readonly=on",
				"-device virtio-blk-pci,drive=disk1,serial=kubebake-stage",
			},
			notWant: []string{"if=virtio,index=1"},
		},
		{name: "unresolved accelerator", cfg: vm.Config{Accel: "auto", Disks: []vm.Disk{{Path: "a"}}}, err: "want kvm or tcg"},
		{name: "no disk", cfg: vm.Config{Accel: vm.AccelTCG}, err: "no disk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args, err := vm.Args(tc.cfg)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			joined := " " + strings.Join(args, " ") + " "
			for _, w := range tc.want {
				assert.Contains(t, joined, " "+w+" ")
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, joined, w)
			}
		})
	}
}

func TestResolveAccel(t *testing.T) {
	t.Parallel()
	a, why, err := vm.ResolveAccel(t.Context(), vm.AccelTCG, "")
	require.NoError(t, err)
	assert.Equal(t, vm.AccelTCG, a)
	assert.NotEmpty(t, why)
	_, _, err = vm.ResolveAccel(t.Context(), "hvf", "")
	require.ErrorContains(t, err, "want auto, kvm or tcg")
	// auto always resolves to something usable.
	a, _, err = vm.ResolveAccel(t.Context(), vm.AccelAuto, "/nonexistent/qemu")
	require.NoError(t, err)
	assert.Contains(t, []string{vm.AccelKVM, vm.AccelTCG}, a)
}
