package firstboot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot/kubeadm"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/firstboot/source"
)

// DefaultCRISocket is used when the image records none.
const DefaultCRISocket = "unix:///run/containerd/containerd.sock"

// configured is the outcome of the config phase.
type configured struct {
	cfg       *nodeconfig.NodeConfig
	source    string
	criSocket string
	// kubeletVersion is the Kubernetes version baked into the image (the
	// NodeConfig's when the image does not say).
	kubeletVersion string
}

// errNoConfig means no source holds a NodeConfig: not a failure.
var errNoConfig = errors.New("no NodeConfig")

// configPhase finds, merges, defaults and validates the NodeConfig and
// writes the kubeadm configuration (0600) and patches.
func (a *agent) configPhase(ctx context.Context) (*configured, error) {
	found, err := a.o.Finder.Find(ctx)
	if errors.Is(err, source.ErrNotFound) {
		return nil, errNoConfig
	}
	if err != nil {
		return nil, err
	}
	cfg, err := nodeconfig.Decode(found.Doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", found.Source, err)
	}
	dropIns, err := source.DropIns(a.p.Root, DropInDir)
	if err != nil {
		return nil, fmt.Errorf("drop-ins: %w", err)
	}
	for _, d := range dropIns {
		if err := nodeconfig.MergeInto(cfg, d.Doc); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Source, err)
		}
	}
	img, err := a.imageInfo()
	if err != nil {
		return nil, err
	}
	host, err := a.o.Hostname()
	if err != nil {
		return nil, fmt.Errorf("host name: %w", err)
	}
	a.red.Add(cfg.Bootstrap.Token, cfg.Bootstrap.CertificateKey)
	a.red.AddPEM(cfg.Bootstrap.CAKey)
	if err := nodeconfig.SetDefaults(cfg, nodeconfig.Env{KubernetesVersion: img.KubernetesVersion, Hostname: host}); err != nil {
		return nil, err
	}
	a.red.Add(cfg.Bootstrap.Token)
	if err := nodeconfig.Validate(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", found.Source, err)
	}
	c := &configured{cfg: cfg, source: found.Source, criSocket: img.CRISocket, kubeletVersion: img.KubernetesVersion}
	if c.kubeletVersion == "" {
		c.kubeletVersion = cfg.Cluster.KubernetesVersion
	}
	if c.criSocket == "" {
		c.criSocket = DefaultCRISocket
	}
	opts := kubeadm.Options{CRISocket: c.criSocket, Labels: ImageLabels(img)}
	if opts.PatchesDir, err = a.writePatches(cfg); err != nil {
		return nil, err
	}
	out, err := kubeadm.Render(cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(a.p.P(KubeadmConfig), out, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// writePatches puts the NodeConfig's kubeadm patches in PatchesDir and
// removes any an earlier attempt left that it no longer has; it returns
// PatchesDir, or "" when there are none.
func (a *agent) writePatches(cfg *nodeconfig.NodeConfig) (string, error) {
	files, err := kubeadm.PatchFiles(cfg)
	if err != nil {
		return "", err
	}
	dir := a.p.P(PatchesDir)
	old, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	for _, e := range old {
		if _, keep := files[e.Name()]; !keep {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return "", err
			}
		}
	}
	if len(files) == 0 {
		return "", nil
	}
	for name, b := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), append(b, '\n'), 0o600); err != nil {
			return "", err
		}
	}
	return PatchesDir, nil
}

// imageInfo reads what the image was baked with; an image without it
// (not baked by kubebake) gets an empty one.
func (a *agent) imageInfo() (api.ImageInfo, error) {
	var info api.ImageInfo
	b, err := os.ReadFile(a.p.P(api.ImageInfoPath))
	if errors.Is(err, fs.ErrNotExist) {
		return info, nil
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", api.ImageInfoPath, err)
	}
	return info, nil
}
