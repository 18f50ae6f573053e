package qemu

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"

	"github.com/coreos/ignition/v2/config/v3_5"
	"github.com/coreos/ignition/v2/config/v3_5/types"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// ignitionFor renders a Fedora CoreOS recipe and wraps its Ignition config
// in one that merges it and carries the plan's inputs (kubebake-firstboot,
// local binaries) as gzip data URLs in the stage the steps read them from.
// The result is checked with Ignition's own v3.5 parser.
func ignitionFor(recipe string, inputs map[string][]byte) ([]byte, *render.Plan, error) {
	p, _, err := render.Load(recipe)
	if err != nil {
		return nil, nil, err
	}
	if p.Family != recipes.FamilyFCOS {
		return nil, nil, fmt.Errorf("ignition_recipe: %s is a %s recipe; only Fedora CoreOS recipes bake from Ignition (use the kubebake provisioner)", recipe, p.Family)
	}
	cfg := types.Config{Ignition: types.Ignition{Version: "3.5.0"}}
	cfg.Ignition.Config.Merge = []types.Resource{{Source: dataURL(p.Ignition)}}
	for _, in := range p.Inputs {
		content, ok := inputs[in.Name]
		if !ok {
			if in.HostPath == "" {
				return nil, nil, fmt.Errorf("input %s: no file given for it", in.Name)
			}
			if content, err = os.ReadFile(in.HostPath); err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", in.Name, err)
			}
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write(content); err != nil {
			return nil, nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, nil, err
		}
		mode, overwrite, gzipName := 0o755, true, "gzip"
		cfg.Storage.Files = append(cfg.Storage.Files, types.File{
			Node: types.Node{Path: path.Join(render.Stage, "inputs", in.Name), Overwrite: &overwrite},
			FileEmbedded1: types.FileEmbedded1{
				Mode:     &mode,
				Contents: types.Resource{Source: dataURL(gz.Bytes()), Compression: &gzipName},
			},
		})
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, rep, err := v3_5.Parse(b); err != nil || rep.IsFatal() {
		return nil, nil, fmt.Errorf("the Ignition config does not validate: %v %s", err, rep.String())
	}
	return b, p, nil
}

func dataURL(b []byte) *string {
	s := "data:;base64," + base64.StdEncoding.EncodeToString(b)
	return &s
}
