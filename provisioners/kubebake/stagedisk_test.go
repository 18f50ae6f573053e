package kubebake

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// wantStage is the stage of p, as "MODE content" by path under the stage.
func wantStage(t *testing.T, p *render.Plan, inputs map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	mode := func(s string) string {
		m, err := strconv.ParseUint(s, 8, 32)
		require.NoError(t, err)
		return os.FileMode(m).Perm().String() + " "
	}
	for _, f := range p.Files {
		out[path.Join("rootfs", f.Path)] = mode(f.Mode) + string(f.Content)
	}
	for _, s := range p.Steps {
		out[s.Script] = mode("0755") + string(s.Body)
	}
	for _, in := range p.Inputs {
		host := in.HostPath
		if h, ok := inputs[in.Name]; ok {
			host = h
		}
		b, err := os.ReadFile(host)
		require.NoError(t, err)
		out[path.Join("inputs", in.Name)] = mode(in.Mode) + string(b)
	}
	return out
}

// sizeRE matches a size as the UI lines print it.
const sizeRE = `(\d+ bytes|\d+\.\d MB)`

// sizedFile is a sparse file of size bytes: a stage disk.
func sizedFile(t *testing.T, size int64) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "stage.raw")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	require.NoError(t, os.Truncate(f, size))
	return f
}

// TestProvisionStageDiskOrCommunicator: the plan's stage goes into the
// builder's stage disk when the build's data names one on this machine
// that is large enough, and the machine unpacks it from there (here bash
// and tar run the real unpack script on the file); otherwise it is
// uploaded through the communicator. Either way one UI line says which
// way and why.
func TestProvisionStageDiskOrCommunicator(t *testing.T) {
	testutil.Tool(t, "tar")
	dir := t.TempDir()
	small := sizedFile(t, 10_000)
	tests := []struct {
		name     string
		data     map[string]interface{}
		wantDisk bool
		wantWhy  string
	}{
		{name: "no data", wantWhy: "the builder attached no stage disk (only kubebake-qemu does)"},
		{name: "another builder's data", data: map[string]interface{}{"ID": "i-0123", "Host": "10.0.0.7"}, wantWhy: "the builder attached no stage disk (only kubebake-qemu does)"},
		{name: "no value", data: map[string]interface{}{apply.StageDiskVar: "<no value>"}, wantWhy: "the builder attached no stage disk (its stage_disk_size is none)"},
		{name: "empty", data: map[string]interface{}{apply.StageDiskVar: ""}, wantWhy: "its stage_disk_size is none"},
		{name: "not a path", data: map[string]interface{}{apply.StageDiskVar: 42}, wantWhy: "the builder's KubebakeStageDisk is not a path: 42"},
		{name: "missing file", data: map[string]interface{}{apply.StageDiskVar: filepath.Join(dir, "gone.raw")}, wantWhy: "the builder's stage disk is not on this machine: stat " + filepath.Join(dir, "gone.raw") + ": no such file or directory"},
		{name: "a directory", data: map[string]interface{}{apply.StageDiskVar: dir}, wantWhy: "the builder's stage disk " + dir + " is not a regular file"},
		{name: "too small", data: map[string]interface{}{apply.StageDiskVar: small}, wantWhy: "it does not fit the 10000 bytes stage disk (the builder's stage_disk_size)"},
		{name: "stage disk", data: map[string]interface{}{apply.StageDiskVar: sizedFile(t, 64<<20)}, wantDisk: true},
		{name: "stage disk as bytes", data: map[string]interface{}{apply.StageDiskVar: []byte(sizedFile(t, 64<<20))}, wantDisk: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := firstbootFile(t)
			stage := filepath.Join(t.TempDir(), "stage")
			p := prepared(t, map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "firstboot_binary": fb, "staging_dir": stage})
			want := wantStage(t, p.plan, map[string]string{"kubebake-firstboot": fb})
			comm := newFakeComm()
			var disk string
			if tc.wantDisk {
				disk, _ = tc.data[apply.StageDiskVar].(string)
				if b, ok := tc.data[apply.StageDiskVar].([]byte); ok {
					disk = string(b)
				}
				comm.stageDisk = disk
			}
			ui, uiOut := recordingUI()
			require.NoError(t, p.Provision(context.Background(), ui, comm, tc.data), uiOut.String())
			out := uiOut.String()
			assert.Equal(t, 1, strings.Count(out, "kubebake: [stage] wrote ")+strings.Count(out, "kubebake: [stage] uploading "), out)
			if !tc.wantDisk {
				assert.Regexp(t, `kubebake: \[stage\] uploading the plan's `+sizeRE+` through the communicator: `, out)
				assert.Contains(t, out, tc.wantWhy)
				assert.Zero(t, comm.unpacked, "nothing is unpacked from a disk")
				for rel, content := range want {
					got, ok := comm.root[stage+"/"+rel]
					require.True(t, ok, "%s is uploaded", rel)
					assert.Equal(t, content[len("-rwxr-xr-x "):], string(got.content), rel)
				}
				return
			}
			assert.Regexp(t, `kubebake: \[stage\] wrote the plan's `+sizeRE+` into the stage disk in \d+\.\ds; the machine unpacks it from there \(`+disk+`\)`, out)
			assert.Empty(t, comm.root, "nothing of the stage goes through the communicator")
			assert.Equal(t, 1, comm.unpacked)
			assert.Equal(t, want, testutil.TarFiles(t, disk), "archive/tar reads the plan's stage from the disk")
			assert.Equal(t, want, testutil.DirFiles(t, stage), "the unpack script unpacked the plan's stage")
			info, err := os.Stat(disk)
			require.NoError(t, err)
			assert.EqualValues(t, 64<<20, info.Size(), "the disk keeps the size the machine has attached")
			assert.Contains(t, out, "kubebake: [stage] the machine unpacked the stage disk in ")
		})
	}
}

// TestTwoProvisionersShareTheStageDisk: a second kubebake provisioner in
// the same build writes the disk again, with a smaller stage; the machine
// unpacks the second stage, and nothing of the first.
func TestTwoProvisionersShareTheStageDisk(t *testing.T) {
	testutil.Tool(t, "tar")
	disk := sizedFile(t, 64<<20)
	data := map[string]interface{}{apply.StageDiskVar: disk, "ID": "ERR_ID_NOT_IMPLEMENTED_BY_BUILDER"}
	for _, tc := range []struct {
		name      string
		firstboot string
		overrides map[string]interface{}
	}{
		{name: "first", firstboot: "#!/bin/sh\n# " + strings.Repeat("first ", 100_000) + "\n", overrides: map[string]interface{}{"extra_images": []string{"registry.example.com/agent:1.2.3"}}},
		{name: "second", firstboot: "#!/bin/sh\necho second\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
			require.NoError(t, os.WriteFile(fb, []byte(tc.firstboot), 0o755))
			stage := filepath.Join(t.TempDir(), "stage")
			raw := map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "firstboot_binary": fb, "staging_dir": stage}
			if tc.overrides != nil {
				raw["overrides"] = tc.overrides
			}
			p := prepared(t, raw)
			comm := newFakeComm()
			comm.stageDisk = disk
			ui, uiOut := recordingUI()
			require.NoError(t, p.Provision(context.Background(), ui, comm, data), uiOut.String())
			want := wantStage(t, p.plan, map[string]string{"kubebake-firstboot": fb})
			assert.Equal(t, want, testutil.DirFiles(t, stage))
			assert.Equal(t, want, testutil.TarFiles(t, disk))
		})
	}
}
