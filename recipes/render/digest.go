package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kubebake/kubebake/api"
)

// Digest is the plan's identity: sha256 over what the image receives (each
// file's path, mode, owner, group and content digest, in path order; each
// step's name and script, in order; each input's name and mode), leaving
// out /etc/kubebake/image.json, which carries the digest, and the host
// paths of inputs. Two bakes of one plan share it; any change of what goes
// into the image changes it. It is "sha256:" and 64 hex digits.
func (p *Plan) Digest() string {
	h := sha256.New()
	files := slices.Clone(p.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		if f.Path == api.ImageInfoPath {
			continue
		}
		fmt.Fprintf(h, "file %q %s %q %q %s\n", f.Path, f.Mode, f.Owner, f.Group, f.SHA256)
	}
	for _, s := range p.Steps {
		sum := sha256.Sum256(s.Body)
		fmt.Fprintf(h, "step %q %x\n", s.Name, sum)
	}
	for _, in := range p.Inputs {
		fmt.Fprintf(h, "input %q %s\n", in.Name, in.Mode)
	}
	_, _ = io.WriteString(h, "end\n")
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// finishImageJSON writes image.json, now that the plan is complete: its
// digest is the plan's.
func (b *builder) finishImageJSON() {
	if b.err != nil || b.info == nil {
		return
	}
	b.info.PlanDigest = b.plan.Digest()
	out, err := json.MarshalIndent(b.info, "", "  ")
	if err != nil {
		b.err = err
		return
	}
	out = append(out, '\n')
	for i, f := range b.plan.Files {
		if f.Path == api.ImageInfoPath {
			sum := sha256.Sum256(out)
			b.plan.Files[i].Content, b.plan.Files[i].Size, b.plan.Files[i].SHA256 = out, len(out), hex.EncodeToString(sum[:])
		}
	}
}
