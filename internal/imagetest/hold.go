package imagetest

import (
	"strings"

	"github.com/kubebake/kubebake/recipes"
)

// holdCheck is the shell command that succeeds when kubelet, kubeadm and
// kubectl are installed from packages at version (v1.36.3) and they and
// cri-tools are held against upgrades, the way the family holds them
// (apt-mark hold, dnf versionlock). Fedora CoreOS layers packages with
// rpm-ostree, which has no hold: empty.
func holdCheck(f recipes.Family, version string) string {
	plain := strings.TrimPrefix(version, "v")
	switch f {
	case recipes.FamilyApt:
		return `held=$(apt-mark showhold) || exit 1
for p in kubelet kubeadm kubectl cri-tools; do
  grep -qx "$p" <<<"$held" || { echo "$p is not held"; exit 1; }
done
for p in kubelet kubeadm kubectl; do
  v=$(dpkg-query -W -f='${Version}' "$p") || exit 1
  case $v in ` + plain + `-*) ;; *) echo "$p is at $v, not ` + plain + `"; exit 1 ;; esac
done`
	case recipes.FamilyDnf:
		return `locks=$(dnf -q versionlock list) || exit 1
for p in kubelet kubeadm kubectl cri-tools; do
  grep -q "^$p-" <<<"$locks" || { echo "$p is not locked"; exit 1; }
done
for p in kubelet kubeadm kubectl; do
  v=$(rpm -q --qf '%{VERSION}' "$p") || exit 1
  [ "$v" = ` + plain + ` ] || { echo "$p is at $v, not ` + plain + `"; exit 1; }
done`
	}
	return ""
}
