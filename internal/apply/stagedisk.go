package apply

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/recipes/render"
)

// StageDiskSerial is the serial number of the disk that carries a plan's
// staging directory into a machine (vm mode): the guest finds it as
// /dev/disk/by-id/virtio-kubebake-stage.
const StageDiskSerial = "kubebake-stage"

// stageEntry is one file of the staging directory: its path under the
// stage, its mode, and its content (bytes, or a file on this machine).
type stageEntry struct {
	rel  string
	mode os.FileMode
	data []byte
	host string
}

// stageEntries lists the plan's files, step scripts and inputs, as the
// staging directory holds them. inputs override the plan's host paths.
func stageEntries(p *render.Plan, inputs map[string]string) ([]stageEntry, error) {
	var out []stageEntry
	for _, f := range p.Files {
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("stage %s: mode %q: %w", f.Path, f.Mode, err)
		}
		out = append(out, stageEntry{rel: path.Join("rootfs", f.Path), mode: os.FileMode(mode), data: f.Content})
	}
	for _, s := range p.Steps {
		out = append(out, stageEntry{rel: s.Script, mode: 0o755, data: s.Body})
	}
	for _, in := range p.Inputs {
		host := in.HostPath
		if h, ok := inputs[in.Name]; ok {
			host = h
		}
		if host == "" {
			return nil, fmt.Errorf("input %s: no file given for it", in.Name)
		}
		mode, err := strconv.ParseUint(in.Mode, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("input %s: mode %q: %w", in.Name, in.Mode, err)
		}
		out = append(out, stageEntry{rel: path.Join("inputs", in.Name), mode: os.FileMode(mode), host: host})
	}
	return out, nil
}

// WriteStageDisk writes the plan's staging directory (files, step scripts,
// inputs) as a tar archive to file, atomically, and returns its size. Raw,
// it is a disk a machine reads with tar: no file system, no network, no
// encryption between this machine and the guest, which under emulation
// makes an SSH upload crawl (about 1 MB/s).
func WriteStageDisk(file string, p *render.Plan, inputs map[string]string) (int64, error) {
	entries, err := stageEntries(p, inputs)
	if err != nil {
		return 0, err
	}
	f, err := atomicfile.CreateTemp(file)
	if err != nil {
		return 0, err
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	now := time.Now().Truncate(time.Second)
	for _, e := range entries {
		if err := writeStageEntry(tw, e, now); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	name := f.Name()
	f = nil
	if err := atomicfile.Rename(name, file); err != nil {
		os.Remove(name)
		return 0, err
	}
	return info.Size(), nil
}

// writeStageEntry adds one file, owned by root, to the archive.
func writeStageEntry(tw *tar.Writer, e stageEntry, mtime time.Time) error {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: e.rel, Mode: int64(e.mode.Perm()), ModTime: mtime, Format: tar.FormatPAX}
	if e.host == "" {
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("stage disk: %s: %w", e.rel, err)
		}
		_, err := tw.Write(e.data)
		return err
	}
	in, err := os.Open(e.host)
	if err != nil {
		return fmt.Errorf("input %s: %w", path.Base(e.rel), err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("input %s: %s is not a regular file", path.Base(e.rel), e.host)
	}
	h.Size = info.Size()
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("stage disk: %s: %w", e.rel, err)
	}
	if _, err := io.Copy(tw, in); err != nil {
		return fmt.Errorf("input %s: %w", path.Base(e.rel), err)
	}
	return nil
}

// extractStageScript is the script that unpacks the stage disk (found by
// its serial; KUBEBAKE_STAGE_DISK names another device or file, for tests)
// into stage on the target.
func extractStageScript(stage string) string {
	q := shell.Quote
	return `set -eu
dev=${KUBEBAKE_STAGE_DISK:-/dev/disk/by-id/virtio-` + StageDiskSerial + `}
if [ ! -e "$dev" ]; then
  for b in /sys/block/*; do
    if [ "$(cat "$b/serial" 2>/dev/null)" = ` + StageDiskSerial + ` ]; then
      dev=/dev/${b##*/}
    fi
  done
fi
if [ ! -e "$dev" ]; then
  echo "no disk with serial ` + StageDiskSerial + ` on this machine" >&2
  exit 1
fi
mkdir -p ` + q(stage) + `
tar -x -f "$dev" -C ` + q(stage) + ` --no-same-owner
`
}

// stageFromDisk unpacks the stage disk on the target.
func stageFromDisk(ctx context.Context, t Target, stage string, progress io.Writer) error {
	start := time.Now()
	out := &tailWriter{max: 10}
	code, err := t.Run(ctx, extractStageScript(stage), out)
	if err != nil {
		return fmt.Errorf("stage from the stage disk: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("stage from the stage disk: exit code %d: %s", code, out.String())
	}
	fmt.Fprintf(progress, "kubebake: staged the plan from the stage disk in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
