package nocloud_test

// Validators: genisoimage's isoinfo and Debian's cloud-init, run for real. A
// missing one skips its check, unless KUBEBAKE_REQUIRE_VALIDATORS=1, which
// makes it a failure. Mounting needs root and a kernel that mounts iso9660;
// without them the mount check skips.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireEnv makes a missing validator a failure instead of a skip.
const requireEnv = "KUBEBAKE_REQUIRE_VALIDATORS"

// systemPython is Debian's python3, the one cloud-init is installed for
// (PATH may lead to another, such as pyenv's).
const systemPython = "/usr/bin/python3"

// checkIsoinfo reads the seed with isoinfo: the volume descriptor, and the
// listing and every file through both the Rock Ridge and the Joliet tree.
func checkIsoinfo(t *testing.T, iso string, want map[string][]byte, size int64) {
	isoinfo := requireTool(t, "isoinfo", "genisoimage")
	desc := run(t, isoinfo, "-d", "-i", iso)
	for _, line := range []string{"Volume id: cidata", "Logical block size is: 2048",
		"Rock Ridge signatures version 1 found", "Joliet with UCS level 3 found"} {
		assert.Contains(t, desc, line+"\n")
	}
	m := regexp.MustCompile(`(?m)^Volume size is: (\d+)$`).FindStringSubmatch(desc)
	require.NotNil(t, m, "no volume size in:\n%s", desc)
	blocks, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	assert.Equal(t, blocks*2048, size, "file size differs from the declared volume size")

	var names []string
	for name := range want {
		names = append(names, "/"+name)
	}
	sort.Strings(names)
	for _, tree := range []string{"-R", "-J"} {
		listed := strings.Fields(run(t, isoinfo, tree, "-f", "-i", iso))
		sort.Strings(listed)
		assert.Equal(t, names, listed, "isoinfo %s -f", tree)
		for name, data := range want {
			got := run(t, isoinfo, tree, "-x", "/"+name, "-i", iso)
			assert.Equal(t, data, nonNil([]byte(got)), "isoinfo %s -x /%s", tree, name)
		}
	}
}

// cloudInitView is what cloudInitScript prints for a data source.
type cloudInitView struct {
	OK            bool              `json:"ok"`
	Seed          string            `json:"seed"`
	MetaData      map[string]any    `json:"metadata"`
	UserData      []byte            `json:"userdata"`
	VendorData    []byte            `json:"vendordata"`
	NetworkConfig json.RawMessage   `json:"network_config"`
	Files         map[string][]byte `json:"files"`
}

// cloudInitScript prints, as JSON (bytes in base64):
//   - label DEV: the devices cloud-init finds by LABEL=cidata;
//   - device DEV: what DataSourceNoCloud reads from DEV, which is mounted,
//     with device discovery pinned to DEV, and the files pathprefix2dict
//     reads from its mount point;
//   - seeddir ROOT: what DataSourceNoCloud reads from its seed directory
//     ROOT/seed/nocloud, with device discovery off, and the files there.
const cloudInitScript = `
import base64, json, sys, tempfile
from cloudinit import helpers, util
from cloudinit.sources import DataSourceNoCloud as nocloud

def b64(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = v.encode()
    return base64.b64encode(v).decode()

def read(cloud_dir, devs, files_dir):
    paths = helpers.Paths({"cloud_dir": cloud_dir, "run_dir": cloud_dir})
    ds = nocloud.DataSourceNoCloud({"datasource": {"NoCloud": {}}}, None, paths)
    ds._get_devices = lambda label: devs if label == "cidata" else []
    ok = ds._get_data()
    files = util.pathprefix2dict(files_dir, required=["user-data", "meta-data"],
                                 optional=["vendor-data", "network-config"])
    return {
        "ok": ok,
        "seed": ds.seed,
        "metadata": ds.metadata,
        "userdata": b64(ds.userdata_raw),
        "vendordata": b64(ds.vendordata_raw),
        "network_config": ds.network_config,
        "files": {k: b64(v) for k, v in files.items()},
    }

mode, arg = sys.argv[1], sys.argv[2]
if mode == "label":
    out = util.find_devs_with("LABEL=cidata")
elif mode == "device":
    with tempfile.TemporaryDirectory() as tmp:
        out = read(tmp, [arg], util.mounts()[arg]["mountpoint"])
elif mode == "seeddir":
    out = read(arg, [], arg + "/seed/nocloud")
json.dump(out, sys.stdout)
`

// runCloudInit runs cloudInitScript with the system python and decodes its
// output into v.
func runCloudInit(t *testing.T, v any, args ...string) {
	t.Helper()
	out := run(t, systemPython, append([]string{"-c", cloudInitScript}, args...)...)
	require.NoError(t, json.Unmarshal([]byte(out), v), "cloud-init script printed:\n%s", out)
}

// requireCloudInit skips (fails under KUBEBAKE_REQUIRE_VALIDATORS=1) when
// Debian's cloud-init cannot be imported from the system python.
func requireCloudInit(t *testing.T) {
	t.Helper()
	out, err := exec.Command(systemPython, "-c", "import cloudinit.sources.DataSourceNoCloud").CombinedOutput()
	if err != nil {
		missing(t, fmt.Sprintf("cloud-init is not importable from %s (%v: %s): apt-get install -y cloud-init",
			systemPython, err, strings.TrimSpace(string(out))))
	}
}

// requireTool returns the path of a program from a Debian package, or skips
// (fails under KUBEBAKE_REQUIRE_VALIDATORS=1) when it is not installed.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, fmt.Sprintf("%s is not available: apt-get install -y %s", name, pkg))
	}
	return p
}

// missing skips with msg, or fails when validators are required.
func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, requireEnv)
	}
	t.Skip(msg)
}

// attachLoop attaches iso to a read-only loop device, detached when the test
// ends. It skips when that is impossible (not root, no loop devices).
func attachLoop(t *testing.T, iso string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("attaching a loop device needs root")
	}
	out, err := exec.Command("losetup", "--find", "--show", "--read-only", iso).CombinedOutput()
	if err != nil {
		t.Skipf("cannot attach a loop device: losetup: %v: %s", err, strings.TrimSpace(string(out)))
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

// mountReadOnly mounts dev read-only as iso9660 on a temporary directory,
// unmounted when the test ends (before the device is detached). It skips when
// the kernel cannot mount it.
func mountReadOnly(t *testing.T, dev string) string {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "ro", "-t", "iso9660", dev, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount the seed: mount -o ro -t iso9660 %s: %v: %s", dev, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// extractWithIsoinfo copies every file of the ISO's Rock Ridge tree into dir.
func extractWithIsoinfo(t *testing.T, isoinfo, iso, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range strings.Fields(run(t, isoinfo, "-R", "-f", "-i", iso)) {
		data := run(t, isoinfo, "-R", "-x", name, "-i", iso)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(name)), []byte(data), 0o644))
	}
}

// run runs a program and returns its stdout; it fails the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return stdout.String()
}
