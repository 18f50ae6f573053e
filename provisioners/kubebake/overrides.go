package kubebake

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// overlay turns the overrides (and skip_seal) into a recipe overlay.
func (c *Config) overlay() ([]byte, error) {
	o := c.Overrides
	doc := map[string]any{}
	set := func(path ...any) {
		m := doc
		keys, v := path[:len(path)-1], path[len(path)-1]
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k.(string)].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k.(string)] = next
			}
			m = next
		}
		m[keys[len(keys)-1].(string)] = v
	}
	if c.KubernetesBinariesDir != "" {
		abs, err := filepath.Abs(c.KubernetesBinariesDir)
		if err != nil {
			return nil, fmt.Errorf("kubernetes_binaries_dir: %w", err)
		}
		set("kubernetes", "local", "dir", abs)
	}
	if c.CriDockerdDir != "" {
		abs, err := filepath.Abs(c.CriDockerdDir)
		if err != nil {
			return nil, fmt.Errorf("cri_dockerd_dir: %w", err)
		}
		set("runtime", "criDockerd", "dir", abs)
	}
	if o.KubernetesVersion != "" {
		set("kubernetes", "version", o.KubernetesVersion)
	}
	if o.KubernetesSource != "" {
		set("kubernetes", "source", o.KubernetesSource)
	}
	if o.Runtime != "" {
		set("runtime", "kind", o.Runtime)
	}
	if o.RuntimeVersion != "" {
		set("runtime", "version", o.RuntimeVersion)
	}
	if o.SandboxImage != "" {
		set("runtime", "sandboxImage", o.SandboxImage)
	}
	if o.PreloadImages != nil {
		set("images", "preload", *o.PreloadImages)
	}
	if len(o.ExtraImages) > 0 {
		var imgs []map[string]string
		for i, ref := range o.ExtraImages {
			name, digest, _ := strings.Cut(ref, "@")
			if name == "" {
				return nil, fmt.Errorf("overrides.extra_images[%d]: empty image name", i)
			}
			img := map[string]string{"name": name}
			if digest != "" {
				img["digest"] = digest
			}
			imgs = append(imgs, img)
		}
		set("images", "extra", imgs)
	}
	if len(o.Packages) > 0 {
		set("node", "packages", o.Packages)
	}
	if len(o.KernelModules) > 0 {
		set("node", "kernelModules", o.KernelModules)
	}
	if len(o.Sysctls) > 0 {
		set("node", "sysctls", o.Sysctls)
	}
	if c.SkipSeal {
		set("seal", "enabled", false)
	}
	return json.Marshal(doc)
}

// overrideNames maps recipe field paths to the overrides' HCL names.
var overrideNames = []struct{ recipe, hcl string }{
	{"kubernetes.version", "kubernetes_version"},
	{"kubernetes.source", "kubernetes_source"},
	{"runtime.kind", "runtime"},
	{"runtime.version", "runtime_version"},
	{"runtime.sandboxImage", "sandbox_image"},
	{"images.preload", "preload_images"},
	{"images.extra", "extra_images"},
	{"node.packages", "packages"},
	{"node.kernelModules", "kernel_modules"},
	{"node.sysctls", "sysctls"},
}

var imageIndex = regexp.MustCompile(`^\[(\d+)\](\.name|\.digest)?`)

// overridden reports whether the value at a recipe field path came from
// an override (or skip_seal).
func (c *Config) overridden(path string) bool {
	o := c.Overrides
	set := map[string]bool{
		"kubernetes.version": o.KubernetesVersion != "", "kubernetes.source": o.KubernetesSource != "",
		"runtime.kind": o.Runtime != "", "runtime.version": o.RuntimeVersion != "",
		"runtime.sandboxImage": o.SandboxImage != "", "images.preload": o.PreloadImages != nil,
		"images.extra": len(o.ExtraImages) > 0, "node.packages": len(o.Packages) > 0,
		"node.kernelModules": len(o.KernelModules) > 0, "node.sysctls": len(o.Sysctls) > 0,
		"seal.enabled":     c.SkipSeal,
		"kubernetes.local": c.KubernetesBinariesDir != "", "runtime.criDockerd.dir": c.CriDockerdDir != "",
	}
	for prefix, ok := range set {
		if ok && (path == prefix || strings.HasPrefix(path, prefix+".") || strings.HasPrefix(path, prefix+"[")) {
			return true
		}
	}
	return false
}

// hclName names a recipe field path as the overrides spell it.
func (o Overrides) hclName(path string) string {
	switch {
	case path == "seal.enabled":
		return "skip_seal"
	case strings.HasPrefix(path, "kubernetes.local"):
		return "kubernetes_binaries_dir"
	case strings.HasPrefix(path, "runtime.criDockerd.dir"):
		return "cri_dockerd_dir"
	}
	for _, n := range overrideNames {
		if rest, ok := strings.CutPrefix(path, n.recipe); ok {
			if n.hcl == "extra_images" {
				if m := imageIndex.FindStringSubmatch(rest); m != nil {
					rest = "[" + m[1] + "]"
				}
			}
			return "overrides." + n.hcl + rest
		}
	}
	return "overrides: " + path
}
