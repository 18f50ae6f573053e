package firstboot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// maxKubeletSkew is how many minor versions a kubelet may be older than
// the API server (Kubernetes' version skew policy since 1.28); it may never
// be newer. A control-plane node's API server may differ from the others'
// by one minor at most, so a control-plane join allows one.
const (
	maxKubeletSkew      = 3
	maxControlPlaneSkew = 1
)

// errSkew is a version skew that no retry can fix.
var errSkew = errors.New("version skew")

// checkSkew fails with errSkew when this node's kubelet (kubelet, the
// version baked into the image) may not join an API server at server.
func checkSkew(role, kubelet, server string) error {
	km, kerr := minorOf(kubelet)
	sm, serr := minorOf(server)
	if kerr != nil || serr != nil {
		return nil // not a version we can compare: kubeadm will judge
	}
	allowed := maxKubeletSkew
	if role == nodeconfig.RoleControlPlane {
		allowed = maxControlPlaneSkew
	}
	switch {
	case km > sm:
		return fmt.Errorf("%w: this node's kubelet %s is newer than the API server %s; a kubelet may not be newer than its API server: "+
			"upgrade the control plane first, or boot an image baked for %s", errSkew, kubelet, server, server)
	case sm-km > allowed:
		return fmt.Errorf("%w: this node's kubelet %s is %d minor versions older than the API server %s; a %s node may be at most %d older: "+
			"boot an image baked for a newer Kubernetes", errSkew, kubelet, sm-km, server, role, allowed)
	}
	return nil
}

// minorOf reads the minor of a version an API server or image reports;
// a vendor's build suffix ("v1.36.3+k3s1", a minor of "36+") is not read.
func minorOf(v string) (int, error) {
	head, _, _ := strings.Cut(v, "+")
	return nodeconfig.Minor(head)
}
