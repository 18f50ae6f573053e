package firstboot

import "path/filepath"

// Paths are the files firstboot reads and writes, all under Root.
type Paths struct {
	Root string
}

// P joins an absolute path to the root.
func (p Paths) P(abs string) string { return filepath.Join(p.Root, abs) }

// Well-known paths, relative to the root.
const (
	DropInDir     = "/etc/kubebake/node.d"
	KubeadmConfig = "/etc/kubebake/kubeadm.yaml"
	PatchesDir    = "/etc/kubebake/patches"
	StateDir      = "/var/lib/kubebake"
	StatusFile    = "/var/lib/kubebake/status.json"
	SuccessMarker = "/var/lib/kubebake/firstboot.success"
	FailureMarker = "/var/lib/kubebake/firstboot.failed"
	// KubeadmDoneMarker records that kubeadm init or join succeeded, so a
	// later attempt resumes after it instead of resetting a member node.
	KubeadmDoneMarker = "/var/lib/kubebake/kubeadm.done"
	CAPISentinel      = "/run/cluster-api/bootstrap-success.complete"
	// EtcdMemberDir is the member directory of kubeadm's local etcd: on a
	// control-plane node it exists once the node's etcd member has joined.
	EtcdMemberDir = "/var/lib/etcd/member"
	Console       = "/dev/console"
	AdminConf     = "/etc/kubernetes/admin.conf"
	// CACertFile and CAKeyFile are kubeadm's cluster CA.
	CACertFile = "/etc/kubernetes/pki/ca.crt"
	CAKeyFile  = "/etc/kubernetes/pki/ca.key"
)
