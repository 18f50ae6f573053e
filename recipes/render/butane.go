package render

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	ignition "github.com/coreos/ignition/v2/config/v3_5"
	"sigs.k8s.io/yaml"
)

// ButaneVersion is the fcos Butane spec kubebake writes; it translates to
// Ignition 3.5.0, which Fedora CoreOS stable reads.
const ButaneVersion = "1.6.0"

// StepsDir is where the steps of a Fedora CoreOS bake are placed.
const StepsDir = "/usr/local/libexec/kubebake/steps"

type butaneConfig struct {
	Storage butaneStorage `json:"storage"`
	Systemd butaneSystemd `json:"systemd"`
}

type butaneStorage struct {
	Files []butaneFile `json:"files"`
}

type butaneFile struct {
	Path      string         `json:"path"`
	Mode      int            `json:"mode"`
	Overwrite bool           `json:"overwrite"`
	User      *butaneNode    `json:"user,omitempty"`
	Group     *butaneNode    `json:"group,omitempty"`
	Contents  butaneContents `json:"contents"`
}

type butaneNode struct {
	Name string `json:"name"`
}

type butaneContents struct {
	Inline string `json:"inline,omitempty"`
	Source string `json:"source,omitempty"`
}

type butaneSystemd struct {
	Units []butaneUnit `json:"units"`
}

type butaneUnit struct {
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	Contents string `json:"contents"`
}

// butane renders the Fedora CoreOS config: every plan file, every step as
// a script, and a bake unit that runs them at the provisioning boot and
// powers off. The Ignition output is checked with Ignition's own parser.
func (b *builder) butane() error {
	var cfg butaneConfig
	for _, f := range b.plan.Files {
		bf, err := toButaneFile(f.Path, f.Mode, f.Owner, f.Group, f.Content)
		if err != nil {
			return err
		}
		cfg.Storage.Files = append(cfg.Storage.Files, bf)
	}
	var paths []string
	for _, s := range b.plan.Steps {
		p := StepsDir + "/" + strings.TrimPrefix(s.Script, "steps/")
		paths = append(paths, p)
		bf, err := toButaneFile(p, "0755", "root", "root", s.Body)
		if err != nil {
			return err
		}
		cfg.Storage.Files = append(cfg.Storage.Files, bf)
	}
	b.d.StepPaths = paths
	bake, err := execute(b.t.files, "bake.sh.tmpl", b.d)
	if err != nil {
		return err
	}
	bf, err := toButaneFile("/usr/local/libexec/kubebake/bake", "0755", "root", "root", bake)
	if err != nil {
		return err
	}
	cfg.Storage.Files = append(cfg.Storage.Files, bf)
	unit, err := execute(b.t.files, "kubebake-bake.service.tmpl", b.d)
	if err != nil {
		return err
	}
	cfg.Systemd.Units = append(cfg.Systemd.Units, butaneUnit{Name: "kubebake-bake.service", Enabled: true, Contents: string(unit)})

	body, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("render butane: %w", err)
	}
	bu := append([]byte("# Fedora CoreOS bake config. Rendered by kubebake for recipe "+b.d.R.Metadata.Name+".\nvariant: fcos\nversion: "+ButaneVersion+"\n"), body...)
	ign, rep, err := butane.TranslateBytes(bu, common.TranslateBytesOptions{Pretty: true})
	if err != nil {
		return fmt.Errorf("translate butane: %w: %s", err, rep.String())
	}
	if len(rep.Entries) > 0 {
		return fmt.Errorf("translate butane: %s", rep.String())
	}
	if _, irep, err := ignition.Parse(ign); err != nil || irep.IsFatal() {
		return fmt.Errorf("ignition rejects the rendered config: %v %s", err, irep.String())
	}
	b.plan.Butane = bu
	b.plan.Ignition = append(ign, '\n')
	return nil
}

func toButaneFile(path, mode, owner, group string, content []byte) (butaneFile, error) {
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return butaneFile{}, fmt.Errorf("render butane: %s: mode %q: %w", path, mode, err)
	}
	f := butaneFile{Path: path, Mode: int(m), Overwrite: true}
	if owner != "" && owner != "root" {
		f.User = &butaneNode{Name: owner}
	}
	if group != "" && group != "root" {
		f.Group = &butaneNode{Name: group}
	}
	if utf8.Valid(content) {
		f.Contents.Inline = string(content)
	} else {
		f.Contents.Source = "data:;base64," + base64.StdEncoding.EncodeToString(content)
	}
	return f, nil
}
