package base

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConvertArgs(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"convert", "-f", "raw", "-O", "qcow2", "-c", "/w/disk.raw", "/out/.x.qcow2.1.tmp"},
		convertArgs("/w/disk.raw", "/out/.x.qcow2.1.tmp"))
}

func TestQEMUArgs(t *testing.T) {
	t.Parallel()
	fw := OVMF{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/t/vars.fd"}
	common := []string{
		"-machine", "q35", "-accel", "tcg", "-cpu", "qemu64,-cx16,-svm",
	}
	cases := []struct {
		name string
		vm   VM
		want []string
	}{
		{
			name: "defaults with a seed",
			vm:   VM{Image: "/t/overlay.qcow2", Seed: "/t/seed.iso", Firmware: fw, SerialLog: "/t/serial.log"},
			want: append(append([]string{}, common...),
				"-smp", "2", "-m", "2048",
				"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
				"-drive", "if=pflash,format=raw,unit=1,file=/t/vars.fd",
				"-drive", "if=virtio,format=qcow2,file=/t/overlay.qcow2",
				"-drive", "if=virtio,format=raw,readonly=on,file=/t/seed.iso",
				"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0",
				"-display", "none", "-monitor", "none", "-serial", "file:/t/serial.log", "-no-reboot"),
		},
		{
			name: "no seed, sizes, UUID, a comma in a path",
			vm: VM{Image: "/t/a,b.qcow2", Firmware: fw, SerialLog: "/t/s.log", MemoryMiB: 4096, CPUs: 4,
				UUID: "2b1f6a52-8d3c-4b7e-9c55-0e0d1c7a9f10"},
			want: append(append([]string{}, common...),
				"-smp", "4", "-m", "4096",
				"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
				"-drive", "if=pflash,format=raw,unit=1,file=/t/vars.fd",
				"-drive", "if=virtio,format=qcow2,file=/t/a,,b.qcow2",
				"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0",
				"-display", "none", "-monitor", "none", "-serial", "file:/t/s.log", "-no-reboot",
				"-uuid", "2b1f6a52-8d3c-4b7e-9c55-0e0d1c7a9f10"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, QEMUArgs(tc.vm))
		})
	}
}

func TestFindOVMF(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files []string
		want  OVMF
		err   bool
	}{
		{name: "4M pair preferred", files: []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
			"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"}, want: ovmfPairs[0]},
		{name: "2M pair", files: []string{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"}, want: ovmfPairs[1]},
		{name: "code without its vars is not a pair", files: []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd"}, err: true},
		{name: "none", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := FindOVMF(func(p string) bool {
				for _, f := range tc.files {
					if f == p {
						return true
					}
				}
				return false
			})
			if tc.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "apt-get install ovmf")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
