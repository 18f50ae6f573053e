package render_test

// Consumer tests: every file kubebake renders is handed to the program that
// reads it on a node (containerd, dockerd, systemd, shellcheck for bash,
// Ignition) or, where that program cannot run here, decoded strictly into
// the consumer's own types or into typed structs of its documented keys.
// They run for every built-in recipe and for extra recipes that exercise
// mirrors, runtime drop-ins, binaries, firewall, images, files and hooks.
//
// The real binaries come from hack/validators.sh (_build/validators/bin,
// else PATH). A missing one skips its check, unless
// KUBEBAKE_REQUIRE_VALIDATORS=1, which makes it a failure.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// consumerRequireEnv makes a missing consumer binary a failure.
const consumerRequireEnv = "KUBEBAKE_REQUIRE_VALIDATORS"

// consumerTimeout bounds every consumer run.
const consumerTimeout = 2 * time.Minute

type consumerCase struct {
	name string
	load func() (*recipes.Loaded, error)
}

func consumerCases() []consumerCase {
	var out []consumerCase
	for _, name := range recipes.BuiltinNames() {
		out = append(out, consumerCase{name: name, load: func() (*recipes.Loaded, error) { return recipes.Load(name) }})
	}
	for _, e := range consumerExtraRecipes {
		out = append(out, consumerCase{name: "extra-" + e.name, load: func() (*recipes.Loaded, error) {
			return recipes.Decode("extra-"+e.name+".yaml", []byte(e.doc))
		}})
	}
	return out
}

// consumerPlan is one rendered and written plan.
type consumerPlan struct {
	loaded *recipes.Loaded
	plan   *render.Plan
	dir    string
	files  map[string]render.File
	// ign is the decoded Ignition config of a Fedora CoreOS plan.
	ign *consumerIgnition
}

func (cp *consumerPlan) rootfs(p string) string {
	return filepath.Join(cp.dir, "rootfs", filepath.FromSlash(p))
}

func (cp *consumerPlan) file(t *testing.T, p string) render.File {
	t.Helper()
	f, ok := cp.files[p]
	require.True(t, ok, "the plan places no %s", p)
	return f
}

// step is the plan's step called name.
func (cp *consumerPlan) step(t *testing.T, name string) render.Step {
	t.Helper()
	for _, s := range cp.plan.Steps {
		if s.Name == name {
			return s
		}
	}
	require.Failf(t, "no step", "the plan has no %s step", name)
	return render.Step{}
}

// filesUnder lists the plan's files below dir, in plan order.
func (cp *consumerPlan) filesUnder(dir string) []render.File {
	var out []render.File
	for _, f := range cp.plan.Files {
		if strings.HasPrefix(f.Path, dir+"/") {
			out = append(out, f)
		}
	}
	return out
}

func consumerRender(t *testing.T, rn *render.Renderer, c consumerCase) *consumerPlan {
	t.Helper()
	l, err := c.load()
	if l != nil {
		require.NoError(t, err, "recipe report:\n%s", l.Report.String())
	} else {
		require.NoError(t, err)
	}
	p, err := rn.Render(l)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "plan")
	require.NoError(t, render.Write(p, dir))
	cp := &consumerPlan{loaded: l, plan: p, dir: dir, files: map[string]render.File{}}
	for _, f := range p.Files {
		cp.files[f.Path] = f
	}
	return cp
}

// ---------------------------------------------------------------------------
// The test.

type consumerCheck struct {
	name    string
	applies func(cp *consumerPlan) bool
	run     func(t *testing.T, cp *consumerPlan)
}

func consumerChecks() []consumerCheck {
	always := func(*consumerPlan) bool { return true }
	kind := func(k string) func(cp *consumerPlan) bool {
		return func(cp *consumerPlan) bool { return cp.plan.Runtime.Kind == k }
	}
	return []consumerCheck{
		{"plan.json", always, checkConsumerPlanJSON},
		{"image.json", always, checkConsumerImageJSON},
		{"containerd config dump", kind(recipes.RuntimeContainerd), checkConsumerContainerd},
		{"containerd hosts.toml", kind(recipes.RuntimeContainerd), checkConsumerContainerdHosts},
		{"dockerd validate", kind(recipes.RuntimeDocker), checkConsumerDocker},
		{"cri-o drop-ins", kind(recipes.RuntimeCRIO), checkConsumerCRIO},
		{"cri-o registries.conf.d", kind(recipes.RuntimeCRIO), checkConsumerRegistries},
		{"kubelet config drop-in", always, checkConsumerKubelet},
		{"graceful node shutdown", always, checkConsumerShutdown},
		{"first boot waits for", always, checkConsumerBoot},
		{"crictl.yaml", always, checkConsumerCrictl},
		{"ignition", func(cp *consumerPlan) bool { return cp.plan.Family == recipes.FamilyFCOS }, checkConsumerIgnition},
		{"systemd-analyze verify", always, checkConsumerSystemd},
		{"shellcheck", always, checkConsumerShellcheck},
	}
}

// TestConsumers renders every built-in recipe and the extra recipes, writes
// each plan, and hands every rendered file to its consumer.
func TestConsumers(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"containerd", "dockerd", "systemd-analyze", "shellcheck"} {
		if tool := lookupConsumer(name); tool.path != "" {
			t.Logf("consumer %s: %s (%s)", name, tool.version, tool.path)
		} else {
			t.Logf("consumer %s: missing: %s", name, tool.why)
		}
	}
	rn, err := render.New()
	require.NoError(t, err)
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cp := consumerRender(t, rn, c)
			for _, check := range consumerChecks() {
				if !check.applies(cp) {
					continue
				}
				t.Run(check.name, func(t *testing.T) { check.run(t, cp) })
			}
		})
	}
}
