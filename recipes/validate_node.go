package recipes

import (
	"encoding/base64"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (v *validator) node() {
	n := v.r.Node
	d, known := v.f.Distro, v.f.DistroKnown
	for i, m := range n.KernelModules {
		if !moduleRE.MatchString(m) {
			v.errorf(fmt.Sprintf("node.kernelModules[%d]", i), "%q is not a module name (letters, digits, '_' and '-')", m)
		}
	}
	keys := make([]string, 0, len(n.Sysctls))
	for k := range n.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	required := RequiredSysctls()
	for _, k := range keys {
		p := "node.sysctls[" + k + "]"
		val := n.Sysctls[k]
		if !sysctlKeyRE.MatchString(k) {
			v.errorf(p, "%q is not a sysctl key (letters, digits, '_' and '-' between '.' or '/')", k)
		}
		if !sysctlValRE.MatchString(val) {
			v.errorf(p, "%q is not a sysctl value (letters, digits, spaces and _.:,/+-)", val)
		} else if want, ok := required[k]; ok && val != want {
			v.errorf(p, "must be %s: kubeadm's preflight checks require it", want)
		}
	}
	v.shutdown(n)
	v.sshHostKeyTypes(n)
	if n.SELinux != "" {
		if known && v.f.Family.SELinux == "" {
			v.errorf("node.selinux", "applies to EL and Fedora CoreOS only, not %s", d.Key())
		} else if !oneOf(n.SELinux, "enforcing", "permissive", "disabled") {
			v.errorf("node.selinux", "unknown mode %q (want enforcing, permissive or disabled)", n.SELinux)
		}
	}
	switch n.Firewall.Mode {
	case "disabled", "unmanaged":
		if len(n.Firewall.Ports) > 0 {
			v.warnf("node.firewall.ports", "ignored: node.firewall.mode is %s", n.Firewall.Mode)
		}
	case "open":
		for i, p := range n.Firewall.Ports {
			v.port(fmt.Sprintf("node.firewall.ports[%d]", i), p)
		}
	default:
		v.errorf("node.firewall.mode", "unknown mode %q (want disabled, open or unmanaged)", n.Firewall.Mode)
	}
	for i, p := range n.Packages {
		if !packageRE.MatchString(p) {
			v.errorf(fmt.Sprintf("node.packages[%d]", i), "%q is not a package name", p)
		}
	}
	paths := map[string]int{}
	for i, f := range n.Files {
		p := fmt.Sprintf("node.files[%d]", i)
		switch {
		case !path.IsAbs(f.Path):
			v.errorf(p+".path", "%q is a relative path; it must be absolute", f.Path)
		case path.Clean(f.Path) != f.Path || f.Path == "/":
			v.errorf(p+".path", "%q must be a clean absolute file path", f.Path)
		case !pathCharRE.MatchString(f.Path):
			v.errorf(p+".path", "%q may hold only letters, digits and ._+@:=,/-", f.Path)
		default:
			if j, dup := paths[f.Path]; dup {
				v.errorf(p+".path", "%s is also placed by node.files[%d]", f.Path, j)
			}
			paths[f.Path] = i
		}
		if !modeRE.MatchString(f.Mode) {
			v.errorf(p+".mode", "%q is not an octal mode such as 0644", f.Mode)
		}
		if !ownerRE.MatchString(f.Owner) {
			v.errorf(p+".owner", "%q is not USER:GROUP", f.Owner)
		}
		switch f.Encoding {
		case "":
		case "base64":
			if _, err := base64.StdEncoding.DecodeString(f.Content); err != nil {
				v.errorf(p+".content", "not valid base64: %v", err)
			}
		default:
			v.errorf(p+".encoding", "unknown encoding %q (want base64 or nothing)", f.Encoding)
		}
	}
}

func (v *validator) port(p, s string) {
	m := portRE.FindStringSubmatch(s)
	if m == nil {
		v.errorf(p, "%q is not PORT/PROTO or FROM-TO/PROTO", s)
		return
	}
	lo, _ := strconv.Atoi(m[1])
	hi := lo
	if m[3] != "" {
		hi, _ = strconv.Atoi(m[3])
	}
	if lo < 1 || hi > 65535 || hi < lo {
		v.errorf(p, "%q is not a port range within 1-65535", s)
	}
}

func (v *validator) images() {
	for i, img := range v.r.Images.Extra {
		p := fmt.Sprintf("images.extra[%d]", i)
		switch {
		case !imageRefRE.MatchString(img.Name):
			v.errorf(p+".name", "%q is not an image reference", img.Name)
		case !strings.Contains(img.Name[strings.LastIndex(img.Name, "/")+1:], ":") && !strings.Contains(img.Name, "@"):
			v.errorf(p+".name", "%q needs a tag: an untagged image is pulled as :latest and drifts", img.Name)
		}
		if img.Digest != "" && !digestRE.MatchString(img.Digest) {
			v.errorf(p+".digest", "%q is not sha256:<64 hex digits>", img.Digest)
		}
	}
	seen := map[string]int{}
	for i, a := range v.r.Images.Archives {
		p := fmt.Sprintf("images.archives[%d]", i)
		switch {
		case !cleanAbsPath(a):
			v.errorf(p, "%q must be a clean absolute path of letters, digits and ._+@:=,/-", a)
		case !strings.HasSuffix(a, ".tar"):
			v.errorf(p, "%q must be a .tar image archive (an OCI image layout or docker save tarball)", a)
		}
		if j, ok := seen[path.Base(a)]; ok {
			v.errorf(p, "%q has the same file name as images.archives[%d]", a, j)
		}
		seen[path.Base(a)] = i
	}
	if v.f.RuntimeKnown && !v.f.Runtime.CanPin && Bool(v.r.Images.Pin, true) &&
		(Bool(v.r.Images.Preload, true) || len(v.r.Images.Extra) > 0) {
		v.warnf("images.pin", "cri-dockerd cannot pin images: kubelet image garbage collection may remove pre-loaded images under disk pressure")
	}
}

func (v *validator) hooks() {
	seen := map[string]string{}
	check := func(list []Hook, where string) {
		for i, h := range list {
			p := fmt.Sprintf("hooks.%s[%d]", where, i)
			if !hookNameRE.MatchString(h.Name) {
				v.errorf(p+".name", "%q must be lower-case letters, digits and '-'", h.Name)
			} else if prev, dup := seen[h.Name]; dup {
				v.errorf(p+".name", "%q is also the name of %s", h.Name, prev)
			}
			seen[h.Name] = p
			if strings.TrimSpace(h.Run) == "" {
				v.errorf(p+".run", "a hook needs a script")
			}
		}
	}
	check(v.r.Hooks.Before, "before")
	check(v.r.Hooks.After, "after")
}

// shutdown checks the graceful node shutdown periods: durations the
// kubelet reads, whole seconds (logind's InhibitDelayMaxSec takes
// seconds), the critical pods' part no longer than the whole.
func (v *validator) shutdown(n Node) {
	total, okTotal := v.seconds("node.shutdownGracePeriod", n.ShutdownGracePeriod)
	critical, okCritical := v.seconds("node.shutdownGracePeriodCriticalPods", n.ShutdownGracePeriodCriticalPods)
	if okTotal && okCritical && critical > total {
		v.errorf("node.shutdownGracePeriodCriticalPods", "%s is longer than node.shutdownGracePeriod (%s), of which it is a part",
			n.ShutdownGracePeriodCriticalPods, n.ShutdownGracePeriod)
	}
}

// sshHostKeyTypes checks node.sshHostKeyTypes: types cloud-init knows,
// each once.
func (v *validator) sshHostKeyTypes(n Node) {
	seen := map[string]bool{}
	for i, k := range n.SSHHostKeyTypes {
		p := fmt.Sprintf("node.sshHostKeyTypes[%d]", i)
		switch {
		case !oneOf(k, SSHHostKeyTypes()...):
			v.errorf(p, "unknown key type %q (want %s)", k, strings.Join(SSHHostKeyTypes(), ", "))
		case seen[k]:
			v.errorf(p, "%q is listed twice", k)
		}
		seen[k] = true
	}
}

// seconds parses a duration of whole seconds, from 0s to an hour.
func (v *validator) seconds(field, s string) (int, bool) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.errorf(field, "%q is not a duration (e.g. 30s, 2m)", s)
	case d < 0 || d > time.Hour:
		v.errorf(field, "%s is out of range (0s to 1h)", s)
	case d%time.Second != 0:
		v.errorf(field, "%s is not whole seconds (logind counts in seconds)", s)
	default:
		return int(d / time.Second), true
	}
	return 0, false
}
