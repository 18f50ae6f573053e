package render

import (
	"fmt"

	toml "github.com/pelletier/go-toml/v2"
)

// containerdConfig renders /etc/containerd/config.toml. A recipe's
// runtime.config is merged into it here, key by key, because containerd's
// own imports replace whole plugin sections and would drop kubebake's CRI
// settings (systemd cgroup driver, sandbox image, registry hosts).
func (b *builder) containerdConfig() string {
	const path = "/etc/containerd/config.toml"
	content, err := execute(b.t.files, "containerd-config.toml.tmpl", b.d)
	if err != nil {
		b.err = err
		return path
	}
	if user := b.d.R.Runtime.Config; user != "" {
		content, err = mergeTOML(content, []byte(user))
		if err != nil {
			b.err = fmt.Errorf("render %s: %w", path, err)
			return path
		}
		header := "# containerd configuration for Kubernetes, with the recipe's runtime.config merged in.\n" +
			"# Rendered by kubebake for recipe " + b.d.R.Metadata.Name + ".\n"
		content = append([]byte(header), content...)
	}
	return b.raw(path, content, "0644", "root:root")
}

// mergeTOML merges over into base, table by table; over's values win.
func mergeTOML(base, over []byte) ([]byte, error) {
	var a, o map[string]any
	if err := toml.Unmarshal(base, &a); err != nil {
		return nil, fmt.Errorf("kubebake's config: %w", err)
	}
	if err := toml.Unmarshal(over, &o); err != nil {
		return nil, fmt.Errorf("runtime.config: %w", err)
	}
	deepMerge(a, o)
	return toml.Marshal(a)
}

func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
