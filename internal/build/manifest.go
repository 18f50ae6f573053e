package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kubebake/kubebake/recipes/render"
)

// Manifest is OUT/manifest.json: what was baked, from what, and how.
type Manifest struct {
	Name              string         `json:"name"`
	Image             string         `json:"image"`
	Format            string         `json:"format"`
	SHA256            string         `json:"sha256"`
	Size              int64          `json:"size"`
	VirtualSize       int64          `json:"virtualSize,omitempty"`
	Recipe            string         `json:"recipe"`
	Distro            string         `json:"distro"`
	Release           string         `json:"release"`
	Arch              string         `json:"arch"`
	KubernetesVersion string         `json:"kubernetesVersion"`
	Runtime           render.Runtime `json:"runtime"`
	Images            []render.Image `json:"images"`
	Base              string         `json:"base,omitempty"`
	BaseSHA256        string         `json:"baseSHA256,omitempty"`
	Mode              string         `json:"mode"`
	BuiltAt           time.Time      `json:"builtAt"`
	BuildSeconds      float64        `json:"buildSeconds"`
	Steps             []StepTiming   `json:"steps"`
}

// StepTiming is how long one step took.
type StepTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// fileSHA256 hashes a file.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeJSONAtomic writes v as indented JSON through a temp file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
