package cluster

import (
	"bytes"
	"fmt"
	"regexp"
	"text/template"

	"github.com/kubebake/kubebake/internal/shell"
)

// Workload is what the rollout keeps available while it replaces the
// pool: Replicas pods of Image (pre-loaded in both images, never pulled)
// under a PodDisruptionBudget of MinAvailable.
type Workload struct {
	Image                  string
	Replicas, MinAvailable int
}

// rolloutData fills rollout.sh.tmpl.
type rolloutData struct {
	Node             string
	OldPlan, NewPlan string
	Workload
}

var (
	planRE  = regexp.MustCompile(`^[0-9a-f]{6,64}$`)
	imageRE = regexp.MustCompile(`^[a-z0-9][a-z0-9./_:-]*$`)
)

// RolloutScript is the script the init node runs after its report: it
// replaces the workers labelled with plan oldPlan by one labelled newPlan
// (which the host boots when asked) while w stays available.
func RolloutScript(n Node, oldPlan, newPlan string, w Workload) ([]byte, error) {
	for _, p := range []string{oldPlan, newPlan} {
		if !planRE.MatchString(p) {
			return nil, fmt.Errorf("plan digest %q: want lower-case hex", p)
		}
	}
	if oldPlan == newPlan {
		return nil, fmt.Errorf("images A and B have the same plan %s: nothing tells their nodes apart", oldPlan)
	}
	if !imageRE.MatchString(w.Image) {
		return nil, fmt.Errorf("workload image %q is not an image reference", w.Image)
	}
	if w.Replicas < 2 || w.MinAvailable < 1 || w.MinAvailable >= w.Replicas {
		return nil, fmt.Errorf("workload: %d replicas with minAvailable %d: want 1 <= minAvailable < replicas", w.Replicas, w.MinAvailable)
	}
	t, err := template.New("rollout.sh.tmpl").Funcs(template.FuncMap{"q": shell.Quote}).ParseFS(templates, "templates/rollout.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, rolloutData{Node: n.Name, OldPlan: oldPlan, NewPlan: newPlan, Workload: w})
	return b.Bytes(), err
}
