package imagetest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kubebake/kubebake/recipes/render"
)

// InBuildScript returns the node checks for the machine a plan was just
// applied to: the checks `kubebake test` runs in a booted image, less the
// ones only a fresh boot can answer (firstboot's own result), with the
// runtime restarted first and kubeadm's preflight ignoring the build
// machine's size. It prints its results on standard output; read them with
// Results. It must run as root.
func InBuildScript(p *render.Plan) ([]byte, error) {
	files := map[string][]byte{}
	for _, f := range p.Files {
		files[f.Path] = f.Content
	}
	cat := func(_ context.Context, path string) ([]byte, bool, error) {
		b, ok := files[path]
		return b, ok, nil
	}
	_, data, err := expectations(context.Background(), cat)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", p.Recipe, err)
	}
	data.InBuild = true
	data.Console = "/dev/stdout"
	data.RuntimeWaitSeconds = 120
	return checkScript(data)
}

// Results reads the check results a check script printed. It fails when the
// script did not finish or when results are missing.
func Results(out []byte) ([]Check, error) {
	var checks []Check
	for _, c := range checkRE.FindAllSubmatch(out, -1) {
		checks = append(checks, Check{Name: string(c[2]), Passed: string(c[1]) == "PASS", Detail: string(c[3]), Where: "guest"})
	}
	done := doneRE.FindSubmatch(out)
	if done == nil {
		return checks, fmt.Errorf("the checks did not finish (%d results)", len(checks))
	}
	if want := string(done[1]); want != strconv.Itoa(len(checks)) {
		return checks, fmt.Errorf("the checks ran %s checks, %d results arrived", want, len(checks))
	}
	return checks, nil
}
