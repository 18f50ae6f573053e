package main

// Entry is one image in images.json.
type Entry struct {
	Name   string `json:"name"`   // registry.k8s.io/kube-apiserver
	Tag    string `json:"tag"`    // v1.36.3
	Ref    string `json:"ref"`    // registry.k8s.io/kube-apiserver:v1.36.3
	File   string `json:"file"`   // absolute path of the archive
	Digest string `json:"digest"` // manifest digest, as containerd reports it
	Size   int64  `json:"size"`   // archive size in bytes
	// ImageID is the config digest (`docker images --no-trunc` ID).
	ImageID string `json:"imageID"`
	// LayerSize is the compressed layer's size (what a pull would move).
	LayerSize int64  `json:"layerSize"`
	Files     []File `json:"files"`
}

// Index is images.json.
type Index struct {
	KubernetesVersion string  `json:"kubernetesVersion,omitempty"`
	Images            []Entry `json:"images"`
}
