package render_test

import (
	"strings"
	"testing"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// FuzzDecodeRender feeds arbitrary recipe documents through decode,
// defaults, validation and render: nothing may panic, a recipe reported
// valid must render, and no error may be reported without a position.
func FuzzDecodeRender(f *testing.F) {
	for _, name := range recipes.BuiltinNames() {
		data, _ := recipes.BuiltinData(name)
		f.Add(data)
	}
	f.Add([]byte("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t}\nfrom: debian-13-containerd\nnode:\n  files: [{path: /etc/a, mode: 0644, content: a}]\n"))
	f.Add([]byte("from: ubuntu-24.04-cri-o\nruntime: {version: 1.30}\nkind: Recipe\nkind: Recipe\n"))
	rn, err := render.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := recipes.Decode("fuzz.yaml", data)
		if l == nil {
			return
		}
		for _, e := range l.Report.Entries {
			if e.Pos.File == "" {
				t.Fatalf("an entry without a position: %+v", e)
			}
		}
		if err != nil {
			return
		}
		p, err := rn.Render(l)
		if err != nil && !strings.Contains(err.Error(), "placed twice") {
			t.Fatalf("a valid recipe does not render: %v", err)
		}
		if err == nil && len(p.Steps) == 0 {
			t.Fatal("a plan without steps")
		}
	})
}
