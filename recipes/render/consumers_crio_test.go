package render_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// CRI-O.

// consumerCRIODropIn holds the documented crio.conf(5) keys kubebake and the extra
// recipes set; strict decoding rejects any other, including typos.
type consumerCRIODropIn struct {
	Crio struct {
		Runtime *struct {
			CgroupManager  string `toml:"cgroup_manager"`
			ConmonCgroup   string `toml:"conmon_cgroup"`
			DefaultRuntime string `toml:"default_runtime"`
			LogLevel       string `toml:"log_level"`
			PinnsPath      string `toml:"pinns_path"`
			Runtimes       map[string]struct {
				RuntimePath string `toml:"runtime_path"`
				RuntimeType string `toml:"runtime_type"`
				RuntimeRoot string `toml:"runtime_root"`
				MonitorPath string `toml:"monitor_path"`
			} `toml:"runtimes"`
		} `toml:"runtime"`
		Image *struct {
			PauseImage   string   `toml:"pause_image"`
			PinnedImages []string `toml:"pinned_images"`
		} `toml:"image"`
		Network *struct {
			NetworkDir string   `toml:"network_dir"`
			PluginDirs []string `toml:"plugin_dirs"`
		} `toml:"network"`
	} `toml:"crio"`
}

func consumerStrictTOML(data []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		return fmt.Errorf("%w\n%s", err, sm.String())
	}
	return err
}

func checkConsumerCRIO(t *testing.T, cp *consumerPlan) {
	dropIns := cp.filesUnder("/etc/crio/crio.conf.d")
	require.NotEmpty(t, dropIns)
	for _, f := range dropIns {
		t.Run(path.Base(f.Path), func(t *testing.T) {
			assert.True(t, strings.HasSuffix(f.Path, ".conf"), "CRI-O reads *.conf drop-ins")
			var c consumerCRIODropIn
			require.NoError(t, consumerStrictTOML(f.Content, &c), "%s", f.Path)
		})
	}
	var c consumerCRIODropIn
	require.NoError(t, consumerStrictTOML(cp.file(t, "/etc/crio/crio.conf.d/10-kubebake.conf").Content, &c))
	require.NotNil(t, c.Crio.Runtime)
	require.NotNil(t, c.Crio.Image)
	require.NotNil(t, c.Crio.Network)
	assert.Equal(t, "systemd", c.Crio.Runtime.CgroupManager)
	assert.Equal(t, "pod", c.Crio.Runtime.ConmonCgroup, "with cgroup_manager systemd, conmon_cgroup must be pod or a slice")
	assert.Equal(t, cp.plan.Runtime.SandboxImage, c.Crio.Image.PauseImage)
	var pinned []string
	for _, img := range cp.plan.Images {
		if img.Pinned {
			pinned = append(pinned, img.Name)
		}
	}
	assert.Equal(t, pinned, c.Crio.Image.PinnedImages, "pinned_images")
	if cp.plan.Runtime.Source == "local" {
		// crio and pinns from runtime.local.dir, conmon and crun from the
		// distribution: every path the drop-in names is one the runtime
		// step installs or a package of the runtime brings.
		crio := cp.loaded.Facts.Family.BinDir + "/crio"
		assert.Equal(t, cp.loaded.Facts.Family.BinDir+"/pinns", c.Crio.Runtime.PinnsPath)
		assert.Equal(t, "crun", c.Crio.Runtime.DefaultRuntime)
		crun, ok := c.Crio.Runtime.Runtimes["crun"]
		require.True(t, ok, "a crun runtime handler")
		assert.Equal(t, "/usr/bin/crun", crun.RuntimePath)
		assert.Equal(t, "/usr/bin/conmon", crun.MonitorPath)
		assert.Equal(t, "oci", crun.RuntimeType)
		runtime := string(cp.step(t, "runtime").Body)
		assert.Regexp(t, `(?m) install .*\bconmon crun\b`, runtime, "conmon and crun from the distribution")
		for _, bin := range []string{"crio", "pinns"} {
			assert.Contains(t, runtime, `"$KUBEBAKE_STAGE/inputs/"`+bin+" "+cp.loaded.Facts.Family.BinDir+"/"+bin)
		}
		unit := string(cp.file(t, "/etc/systemd/system/crio.service").Content)
		assert.Contains(t, unit, "\nExecStart="+crio+" ", "the unit starts the installed crio")
		assert.Contains(t, unit, "\nType=notify\n")
	}
	assert.Equal(t, "/etc/cni/net.d/", c.Crio.Network.NetworkDir)
	assert.Contains(t, c.Crio.Network.PluginDirs, "/opt/cni/bin/")
	if cfg := cp.loaded.Recipe.Runtime.Config; strings.TrimSpace(cfg) != "" {
		user := cp.file(t, "/etc/crio/crio.conf.d/99-kubebake-user.conf")
		assert.Equal(t, cfg, string(user.Content))
		assert.Greater(t, path.Base(user.Path), "10-kubebake.conf", "the user's drop-in must sort after kubebake's")
	}
}

// consumerRegistriesConf holds the documented keys of
// containers-registries.conf(5) [[registry]] tables.
type consumerRegistriesConf struct {
	Registry []struct {
		Prefix             string `toml:"prefix"`
		Location           string `toml:"location"`
		Insecure           bool   `toml:"insecure"`
		Blocked            bool   `toml:"blocked"`
		MirrorByDigestOnly bool   `toml:"mirror-by-digest-only"`
		PullFromMirror     string `toml:"pull-from-mirror"`
		Mirror             []struct {
			Location       string `toml:"location"`
			Insecure       bool   `toml:"insecure"`
			PullFromMirror string `toml:"pull-from-mirror"`
		} `toml:"mirror"`
	} `toml:"registry"`
}

func checkConsumerRegistries(t *testing.T, cp *consumerPlan) {
	const p = "/etc/containers/registries.conf.d/10-kubebake-mirrors.conf"
	mirrors := cp.loaded.Recipe.Runtime.Mirrors
	if len(mirrors) == 0 {
		assert.NotContains(t, cp.files, p)
		return
	}
	var rc consumerRegistriesConf
	require.NoError(t, consumerStrictTOML(cp.file(t, p).Content, &rc), "%s", p)
	require.Len(t, rc.Registry, len(mirrors))
	for i, m := range mirrors {
		r := rc.Registry[i]
		assert.Equal(t, m.Registry, r.Prefix)
		assert.Equal(t, m.Registry, r.Location)
		assert.False(t, r.Insecure, "the registry itself stays secure")
		require.Len(t, r.Mirror, len(m.Endpoints))
		for j, e := range m.Endpoints {
			u, err := url.Parse(e)
			require.NoError(t, err)
			assert.Equal(t, u.Host+strings.TrimSuffix(u.Path, "/"), r.Mirror[j].Location, "mirror location of %s", e)
			assert.Equal(t, u.Scheme == "http", r.Mirror[j].Insecure, "insecure of %s", e)
		}
	}
}
