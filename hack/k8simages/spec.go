package main

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// pathEnv is the PATH of every image: kubeadm's static pods run
// `command: [kube-apiserver, ...]` and rely on it.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// File is one binary in an image: Path inside the image, Source on disk.
type File struct {
	Path   string `json:"path"`
	Source string `json:"source"`
}

// Spec describes one image to build.
type Spec struct {
	Ref        string   // registry.k8s.io/kube-apiserver:v1.36.3
	Files      []File   // binaries, mode 0755
	Entrypoint []string // nil: unset (kubeadm passes command:)
	User       string   // "": root
	// Tree, when set, is a directory merged into the image's root first
	// (directories, regular files and symbolic links, modes kept): the
	// run-time files a binary needs, such as kube-proxy's iptables.
	Tree string
}

// binary is one file of a kind: where it goes and which -bin NAME fills it.
type binary struct {
	path     string
	bin      string
	optional bool
}

type kind struct {
	files      []binary
	entrypoint []string
	user       string
}

// kinds are the upstream layouts, keyed by the repository's last element.
var kinds = map[string]kind{
	// kube-*: upstream puts the binary on PATH in /usr/local/bin and leaves
	// the command to the pod spec (kubeadm's static pods set it).
	"kube-apiserver":          {files: []binary{{path: "/usr/local/bin/kube-apiserver", bin: "kube-apiserver"}}},
	"kube-controller-manager": {files: []binary{{path: "/usr/local/bin/kube-controller-manager", bin: "kube-controller-manager"}}},
	"kube-scheduler":          {files: []binary{{path: "/usr/local/bin/kube-scheduler", bin: "kube-scheduler"}}},
	// kube-proxy runs iptables at run time: hack/k8s-images.sh passes
	// -tree kube-proxy=DIR with iptables and its libraries from Debian
	// packages.
	"kube-proxy": {files: []binary{{path: "/usr/local/bin/kube-proxy", bin: "kube-proxy"}}},
	"etcd": {files: []binary{
		{path: "/usr/local/bin/etcd", bin: "etcd"},
		{path: "/usr/local/bin/etcdctl", bin: "etcdctl", optional: true},
	}},
	// Upstream coredns runs as nonroot with a file capability on /coredns;
	// here it runs as root, and kubeadm's Deployment drops all capabilities
	// but NET_BIND_SERVICE.
	"coredns": {files: []binary{{path: "/coredns", bin: "coredns"}}, entrypoint: []string{"/coredns"}},
	"pause":   {files: []binary{{path: "/pause", bin: "pause"}}, entrypoint: []string{"/pause"}, user: "65535:65535"},
	// rollout-app: make e2e-rollout's workload (hack/k8simages/rolloutapp).
	"rollout-app": {files: []binary{{path: "/rollout-app", bin: "rollout-app"}}, entrypoint: []string{"/rollout-app"}, user: "65532:65532"},
}

// SpecFor returns the Spec of ref with binaries from bins (NAME -> path)
// and the tree trees names for its image (image name -> directory).
func SpecFor(ref string, bins, trees map[string]string) (Spec, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return Spec{}, fmt.Errorf("image %q: %w", ref, err)
	}
	base := path.Base(tag.RepositoryStr())
	k, ok := kinds[base]
	if !ok {
		known := make([]string, 0, len(kinds))
		for n := range kinds {
			known = append(known, n)
		}
		sort.Strings(known)
		return Spec{}, fmt.Errorf("image %q: unknown image %q (known: %s)", ref, base, strings.Join(known, ", "))
	}
	s := Spec{Ref: tag.String(), Entrypoint: k.entrypoint, User: k.user, Tree: trees[base]}
	for _, b := range k.files {
		src := bins[b.bin]
		if src == "" {
			if b.optional {
				continue
			}
			return Spec{}, fmt.Errorf("image %q needs -bin %s=PATH", ref, b.bin)
		}
		s.Files = append(s.Files, File{Path: b.path, Source: src})
	}
	return s, nil
}
