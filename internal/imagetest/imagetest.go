// Package imagetest is `kubebake test`: it checks a baked image offline
// (hygiene, and the SBOM beside it against the disk, read with debugfs, no
// mount) and then boots it
// under QEMU with a NoCloud seed whose script checks the node from inside
// (kernel modules, sysctls, swap, runtime and cgroup driver, CRI readiness,
// versions, pre-loaded images, firstboot) and runs kubeadm's own preflight.
// The machine is always shut down.
package imagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/userdata"
	"github.com/kubebake/kubebake/internal/vm"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// Options configure a test run.
type Options struct {
	// Image is the baked image (qcow2 or raw).
	Image string
	// UserData, when set, is given to the machine too (e.g. a NodeConfig
	// from kubebake userdata); the checks then wait for firstboot's result
	// instead of running kubeadm's preflight.
	UserData string
	// Accel is auto, kvm or tcg; QEMU names the binary.
	Accel string
	QEMU  string
	// OVMFCode and OVMFVars are the UEFI firmware (default: Debian's ovmf).
	OVMFCode, OVMFVars string
	// Timeout bounds the boot and the checks (default 15m).
	Timeout time.Duration
	// WorkDir holds temporary files (default: a temp dir).
	WorkDir string
	// KeepSerial, when set, copies the serial log there.
	KeepSerial string
	// Progress receives progress lines.
	Progress io.Writer
	// Runner runs host commands.
	Runner sys.Runner
}

// Check is one check's verdict.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Skipped is a check that had nothing to check (it passes).
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
	Where   string `json:"where"` // disk or guest
}

// Report is the outcome of a test.
type Report struct {
	Image       string  `json:"image"`
	Accel       string  `json:"accel"`
	Checks      []Check `json:"checks"`
	Passed      bool    `json:"passed"`
	BootSeconds float64 `json:"bootToChecksSeconds"`
	// Metrics are figures the guest measured, such as
	// firstboot-start-seconds (kernel start to kubebake-firstboot start).
	Metrics         map[string]float64 `json:"metrics,omitempty"`
	FirstbootStatus json.RawMessage    `json:"firstbootStatus,omitempty"`
}

var (
	checkRE  = regexp.MustCompile(`(?m)^KUBEBAKE-CHECK (PASS|FAIL) (\S+) ?(.*?)\r?$`)
	statusRE = regexp.MustCompile(`(?m)^KUBEBAKE-STATUS (.*?)\r?$`)
	doneRE   = regexp.MustCompile(`KUBEBAKE-TEST-DONE (\d+)`)
	metricRE = regexp.MustCompile(`(?m)^KUBEBAKE-METRIC (\S+) ([0-9.]+)\r?$`)
)

// Run tests the image.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Runner == nil {
		o.Runner = sys.Exec{}
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	work := o.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "kubebake-test-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		work = d
	}
	rep := &Report{Image: o.Image}

	// 1. Offline: read the disk.
	raw := filepath.Join(work, "disk.raw")
	if _, err := o.Runner.Run(ctx, sys.Command("qemu-img", "convert", "-O", "raw", o.Image, raw)); err != nil {
		return nil, err
	}
	fs, err := openRootFS(raw, o.Runner)
	if err != nil {
		return nil, err
	}
	info, data, err := expectations(ctx, fs.cat)
	if err != nil {
		return nil, err
	}
	hyg, err := hygiene(ctx, fs)
	if err != nil {
		return nil, err
	}
	rep.Checks = append(rep.Checks, hyg...)
	sc, err := sbomCheck(ctx, fs, o.Image, work, o.Runner)
	if err != nil {
		return nil, err
	}
	rep.Checks = append(rep.Checks, sc)
	hasESP, err := hasESP(raw)
	if err != nil {
		return nil, err
	}
	_ = os.Remove(raw)
	fmt.Fprintf(o.Progress, "kubebake: %d disk checks done; booting %s (recipe %s, Kubernetes %s, %s)\n",
		len(hyg)+1, filepath.Base(o.Image), info.Recipe, info.KubernetesVersion, info.Runtime)

	// 2. Boot with the checks as user data.
	data.ExpectNode = o.UserData != ""
	data.FirstbootWaitSeconds = int((o.Timeout / 2).Seconds())
	data.RuntimeWaitSeconds = 120
	data.PowerOff = true
	script, err := checkScript(data)
	if err != nil {
		return nil, err
	}
	var userData []byte
	if o.UserData != "" {
		if userData, err = os.ReadFile(o.UserData); err != nil {
			return nil, fmt.Errorf("--user-data: %w", err)
		}
	}
	ud, err := mimeUserData(userData, script)
	if err != nil {
		return nil, err
	}
	seed := filepath.Join(work, "seed.iso")
	if err := nocloud.WriteSeed(seed, nocloud.Seed{UserData: ud, MetaData: nocloud.DefaultMetaData("", "kubebake-test")}); err != nil {
		return nil, err
	}
	accel, why, err := vm.ResolveAccel(ctx, o.Accel, o.QEMU)
	if err != nil {
		return nil, err
	}
	rep.Accel = accel
	fmt.Fprintf(o.Progress, "kubebake: accelerator %s (%s)\n", accel, why)
	cfg := vm.Config{
		Accel: accel, Snapshot: true, SerialLog: filepath.Join(work, "serial.log"), UUID: uuid.NewString(),
		Serial2Log: filepath.Join(work, "results.log"),
		Disks:      []vm.Disk{{Path: o.Image, Format: formatOf(o.Image)}, {Path: seed, Format: "raw", ReadOnly: true}},
	}
	if hasESP {
		code, vars, err := vm.Firmware(o.OVMFCode, o.OVMFVars, work)
		if err != nil {
			return nil, err
		}
		cfg.OVMFCode, cfg.OVMFVars = code, vars
	}
	args, err := vm.Args(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	m, err := vm.Start(o.QEMU, args, cfg.SerialLog)
	if err != nil {
		return nil, err
	}
	defer m.Stop(10 * time.Second)
	defer func() {
		if o.KeepSerial != "" {
			_ = os.WriteFile(o.KeepSerial, m.Serial(), 0o644)
		}
	}()
	done, waitErr := m.WaitFile(ctx, cfg.Serial2Log, doneRE, o.Timeout)
	rep.BootSeconds = time.Since(start).Seconds()
	results, _ := os.ReadFile(cfg.Serial2Log)
	guest := 0
	for _, c := range checkRE.FindAllSubmatch(results, -1) {
		guest++
		rep.Checks = append(rep.Checks, Check{Name: string(c[2]), Passed: string(c[1]) == "PASS", Detail: string(c[3]), Where: "guest"})
	}
	for _, mm := range metricRE.FindAllSubmatch(results, -1) {
		if v, err := strconv.ParseFloat(string(mm[2]), 64); err == nil {
			if rep.Metrics == nil {
				rep.Metrics = map[string]float64{}
			}
			rep.Metrics[string(mm[1])] = v
		}
	}
	if s := statusRE.FindSubmatch(results); s != nil && json.Valid(s[1]) {
		rep.FirstbootStatus = json.RawMessage(s[1])
	}
	if waitErr != nil {
		rep.Checks = append(rep.Checks, Check{Name: "guest-checks-finished", Passed: false,
			Detail: waitErr.Error() + "; console tail: " + lastLine(m.Serial()), Where: "guest"})
	} else if want := string(doneRE.FindSubmatch(done)[1]); want != strconv.Itoa(guest) {
		rep.Checks = append(rep.Checks, Check{Name: "guest-results-complete", Passed: false,
			Detail: fmt.Sprintf("the guest ran %s checks, %d results arrived", want, guest), Where: "guest"})
	} else if err := m.Wait(ctx, 3*time.Minute); err != nil {
		rep.Checks = append(rep.Checks, Check{Name: "power-off", Passed: false, Detail: err.Error(), Where: "guest"})
	}
	rep.Passed = len(rep.Checks) > 0
	for _, c := range rep.Checks {
		rep.Passed = rep.Passed && c.Passed
	}
	return rep, nil
}

// catFunc reads a file of the image: its content, whether it exists.
type catFunc func(ctx context.Context, path string) ([]byte, bool, error)

// expectations reads what the image says it holds.
func expectations(ctx context.Context, cat catFunc) (api.ImageInfo, scriptData, error) {
	var info api.ImageInfo
	b, ok, err := cat(ctx, api.ImageInfoPath)
	if err != nil {
		return info, scriptData{}, err
	}
	if !ok {
		return info, scriptData{}, fmt.Errorf("the image has no /etc/kubebake/image.json: was it baked by kubebake?")
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, scriptData{}, fmt.Errorf("/etc/kubebake/image.json: %w", err)
	}
	mods, _, err := cat(ctx, "/etc/modules-load.d/kubernetes.conf")
	if err != nil {
		return info, scriptData{}, err
	}
	sysctls, _, err := cat(ctx, "/etc/sysctl.d/99-kubernetes-cri.conf")
	if err != nil {
		return info, scriptData{}, err
	}
	kind, ok := recipes.LookupRuntime(info.Runtime)
	if !ok {
		return info, scriptData{}, fmt.Errorf("%s: runtime %q is none kubebake knows", api.ImageInfoPath, info.Runtime)
	}
	d := scriptData{
		Endpoint: info.CRISocket, Runtime: info.Runtime, Version: info.KubernetesVersion,
		Services: kind.Services, CgroupCheck: kind.CgroupCheck, CgroupCheckDesc: kind.CgroupCheckDesc, Modules: parseModules(mods), Sysctls: parseSysctls(sysctls),
		Images: info.Images, IgnoreImagePull: !kubeadmImagesPreloaded(info),
	}
	if info.KubernetesSource == recipes.SourcePackages {
		if dist, ok := recipes.LookupDistro(info.Distro, info.Release); ok {
			d.HoldCheck = holdCheck(dist.Family, info.KubernetesVersion)
		}
	}
	return info, d, nil
}

// kubeadmImagesPreloaded reports whether every image kubeadm pulls for the
// image's Kubernetes version was pre-loaded; only then may its preflight
// pull check run here, where no registry need be reachable.
func kubeadmImagesPreloaded(info api.ImageInfo) bool {
	v, err := recipes.ParseVersion(info.KubernetesVersion)
	if err != nil {
		return false
	}
	rel, _, ok := recipes.ReleaseFor(v)
	if !ok {
		return false
	}
	have := map[string]bool{}
	for _, img := range info.Images {
		have[img.Name] = true
	}
	for _, img := range rel.KubeadmImages() {
		if !have[img] {
			return false
		}
	}
	return true
}

// hygiene checks, on the disk itself, that nothing of the build is baked
// in: the first boot would otherwise mask it (sshd makes host keys, systemd
// a machine-id).
func hygiene(ctx context.Context, fs *rootFS) ([]Check, error) {
	var out []Check
	add := func(name string, ok bool, detail string) {
		out = append(out, Check{Name: name, Passed: ok, Detail: detail, Where: "disk"})
	}
	ssh, _, err := fs.ls(ctx, "/etc/ssh")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range ssh {
		if strings.HasPrefix(e.name, "ssh_host_") {
			keys = append(keys, e.name)
		}
	}
	add("no-ssh-host-keys", len(keys) == 0, "no SSH host keys baked in"+list(keys))
	size, ok, err := fs.stat(ctx, "/etc/machine-id")
	if err != nil {
		return nil, err
	}
	add("empty-machine-id", ok && size == 0, fmt.Sprintf("/etc/machine-id exists and is empty (size %d)", size))
	_, instance, err := fs.stat(ctx, "/var/lib/cloud/instance")
	if err != nil {
		return nil, err
	}
	instances, _, err := fs.ls(ctx, "/var/lib/cloud/instances")
	if err != nil {
		return nil, err
	}
	add("cloud-init-clean", !instance && len(instances) == 0, "no cloud-init instance state")
	var hist []string
	for _, p := range []string{"/root/.bash_history"} {
		if _, ok, err := fs.stat(ctx, p); err != nil {
			return nil, err
		} else if ok {
			hist = append(hist, p)
		}
	}
	homes, _, err := fs.ls(ctx, "/home")
	if err != nil {
		return nil, err
	}
	var users []string
	for _, h := range homes {
		users = append(users, h.name)
		if _, ok, err := fs.stat(ctx, "/home/"+h.name+"/.bash_history"); err != nil {
			return nil, err
		} else if ok {
			hist = append(hist, "/home/"+h.name+"/.bash_history")
		}
	}
	add("no-shell-history", len(hist) == 0, "no shell history"+list(hist))
	passwd, _, err := fs.cat(ctx, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	var build []string
	for _, line := range strings.Split(string(passwd), "\n") {
		name, _, _ := strings.Cut(line, ":")
		if name == "kubebake-build" || name == "packer" {
			build = append(build, name)
		}
	}
	add("no-build-user", len(build) == 0 && len(users) == 0, "no build user or home directory baked in"+list(append(build, users...)))
	lists, _, err := fs.ls(ctx, "/var/lib/apt/lists")
	if err != nil {
		return nil, err
	}
	var cached []string
	for _, e := range lists {
		if e.name != "lock" && e.name != "partial" && e.name != "auxfiles" {
			cached = append(cached, e.name)
		}
	}
	debs, _, err := fs.ls(ctx, "/var/cache/apt/archives")
	if err != nil {
		return nil, err
	}
	for _, e := range debs {
		if strings.HasSuffix(e.name, ".deb") {
			cached = append(cached, e.name)
		}
	}
	add("no-package-caches", len(cached) == 0, "package lists and caches cleaned"+list(cached))
	_, staged, err := fs.stat(ctx, render.Stage)
	if err != nil {
		return nil, err
	}
	add("no-bake-stage", !staged, render.Stage+" removed")
	return out, nil
}

func list(items []string) string {
	if len(items) == 0 {
		return ""
	}
	sort.Strings(items)
	if len(items) > 5 {
		items = append(items[:5], "...")
	}
	return ": found " + strings.Join(items, ", ")
}

// mimeUserData combines the user's user data with the check script.
func mimeUserData(user, script []byte) ([]byte, error) {
	var parts []userdata.Part
	if len(user) > 0 {
		ct, content := `text/cloud-config; charset="utf-8"`, user
		switch {
		case bytes.HasPrefix(user, []byte("Content-Type:")) || bytes.HasPrefix(user, []byte("MIME-Version:")):
			// A MIME document of its own: nest it, as cloud-init allows.
			msg, err := mail.ReadMessage(bytes.NewReader(user))
			if err != nil {
				return nil, fmt.Errorf("--user-data: MIME: %w", err)
			}
			if content, err = io.ReadAll(msg.Body); err != nil {
				return nil, err
			}
			ct = msg.Header.Get("Content-Type")
		case bytes.HasPrefix(user, []byte("#!")):
			ct = `text/x-shellscript; charset="utf-8"`
		case nodeconfig.LooksLike(user):
			ct = source.MediaType
		}
		parts = append(parts, userdata.Part{ContentType: ct, Filename: "user-data", Content: content})
	}
	parts = append(parts, userdata.Part{ContentType: `text/x-shellscript; charset="utf-8"`, Filename: "kubebake-test.sh", Content: script})
	return userdata.Multipart(parts...)
}

// lastLine is the last non-empty line of the console.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func formatOf(image string) string {
	if strings.HasSuffix(image, ".raw") || strings.HasSuffix(image, ".img") {
		return "raw"
	}
	return "qcow2"
}
