package kubebake

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kubebake/kubebake/recipes"
)

// overrideField is one configuration field that lands in the recipe: where
// (path, a dotted recipe field), under which name the user wrote it, and
// its value, nil when it is not set. match is the recipe path whose report
// entries belong to the field (default path).
type overrideField struct {
	path, match, hcl string
	value            any
}

// fields lists every override with its value: the one table overlay,
// overridden and hclName read.
func (c *Config) fields() ([]overrideField, error) {
	o := c.Overrides
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	list := func(l []string) any {
		if len(l) == 0 {
			return nil
		}
		return l
	}
	abs := func(field, dir string) (any, error) {
		if dir == "" {
			return nil, nil
		}
		a, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return a, nil
	}
	k8sDir, err := abs("kubernetes_binaries_dir", c.KubernetesBinariesDir)
	if err != nil {
		return nil, err
	}
	criDir, err := abs("cri_dockerd_dir", c.CriDockerdDir)
	if err != nil {
		return nil, err
	}
	runtimeDir, err := abs("runtime_dir", c.RuntimeDir)
	if err != nil {
		return nil, err
	}
	var preload, extra, sysctls, seal any
	if o.PreloadImages != nil {
		preload = *o.PreloadImages
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
		extra = imgs
	}
	if len(o.Sysctls) > 0 {
		sysctls = o.Sysctls
	}
	if c.SkipSeal {
		seal = false
	}
	return []overrideField{
		{path: "kubernetes.local.dir", match: "kubernetes.local", hcl: "kubernetes_binaries_dir", value: k8sDir},
		{path: "runtime.criDockerd.dir", hcl: "cri_dockerd_dir", value: criDir},
		{path: "runtime.local.dir", match: "runtime.local", hcl: "runtime_dir", value: runtimeDir},
		{path: "kubernetes.version", hcl: "overrides.kubernetes_version", value: str(o.KubernetesVersion)},
		{path: "kubernetes.source", hcl: "overrides.kubernetes_source", value: str(o.KubernetesSource)},
		{path: "runtime.kind", hcl: "overrides.runtime", value: str(o.Runtime)},
		{path: "runtime.version", hcl: "overrides.runtime_version", value: str(o.RuntimeVersion)},
		{path: "runtime.sandboxImage", hcl: "overrides.sandbox_image", value: str(o.SandboxImage)},
		{path: "images.preload", hcl: "overrides.preload_images", value: preload},
		{path: "images.extra", hcl: "overrides.extra_images", value: extra},
		{path: "node.packages", hcl: "overrides.packages", value: list(o.Packages)},
		{path: "node.kernelModules", hcl: "overrides.kernel_modules", value: list(o.KernelModules)},
		{path: "node.sysctls", hcl: "overrides.sysctls", value: sysctls},
		{path: "seal.enabled", hcl: "skip_seal", value: seal},
	}, nil
}

func (f overrideField) matchPath() string {
	if f.match != "" {
		return f.match
	}
	return f.path
}

// overlay turns the overrides (and the directories and skip_seal) into a
// recipe overlay.
func (c *Config) overlay() (recipes.Overlay, error) {
	fields, err := c.fields()
	if err != nil {
		return recipes.Overlay{}, err
	}
	var set []recipes.Field
	for _, f := range fields {
		set = append(set, recipes.Field{Path: f.path, Value: f.value})
	}
	return recipes.FieldOverlay("overrides", set...)
}

// under reports whether path is prefix or a field below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+".") || strings.HasPrefix(path, prefix+"[")
}

// overridden reports whether the value at a recipe field path came from
// an override (or a directory, or skip_seal).
func (c *Config) overridden(path string) bool {
	fields, err := c.fields()
	if err != nil {
		return false
	}
	for _, f := range fields {
		if f.value != nil && under(path, f.matchPath()) {
			return true
		}
	}
	return false
}

var imageIndex = regexp.MustCompile(`^\[(\d+)\](\.name|\.digest)?`)

// hclName names a recipe field path as the configuration spells it.
func (c *Config) hclName(path string) string {
	fields, _ := c.fields()
	for _, f := range fields {
		if !under(path, f.matchPath()) {
			continue
		}
		if f.hcl != "overrides.extra_images" {
			if strings.HasPrefix(f.hcl, "overrides.") {
				return f.hcl + strings.TrimPrefix(path, f.path)
			}
			return f.hcl
		}
		rest := strings.TrimPrefix(path, f.path)
		if m := imageIndex.FindStringSubmatch(rest); m != nil {
			rest = "[" + m[1] + "]"
		}
		return f.hcl + rest
	}
	return "overrides: " + path
}
