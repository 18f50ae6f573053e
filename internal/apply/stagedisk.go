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

// StageDiskVar names the build variable in which the kubebake-qemu Packer
// builder gives its provisioners the path, on this machine, of the stage
// disk it attached (empty when it attached none): the kubebake provisioner
// writes its stage there (FillStageDisk) instead of uploading it.
const StageDiskVar = "KubebakeStageDisk"

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

// WriteStage writes the plan's staging directory (files, step scripts,
// inputs) as a tar archive to w and returns the archive's size, a whole
// number of 512-byte blocks. Raw, the archive is a disk a machine reads
// with tar: no file system, no network, no encryption between this machine
// and the guest, which under emulation makes an SSH upload crawl (about
// 1 MB/s).
func WriteStage(w io.Writer, p *render.Plan, inputs map[string]string) (int64, error) {
	entries, err := stageEntries(p, inputs)
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	tw := tar.NewWriter(bw)
	now := time.Now().Truncate(time.Second)
	for _, e := range entries {
		if err := writeStageEntry(tw, e, now); err != nil {
			return cw.n, err
		}
	}
	if err := tw.Close(); err != nil {
		return cw.n, fmt.Errorf("stage disk: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("stage disk: %w", err)
	}
	return cw.n, nil
}

// WriteStageDisk writes the stage archive (WriteStage) to file,
// atomically, and returns its size: the disk vm mode attaches before the
// machine boots.
func WriteStageDisk(file string, p *render.Plan, inputs map[string]string) (int64, error) {
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
	size, err := WriteStage(f, p, inputs)
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
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
	return size, nil
}

// FillStageDisk writes the stage archive (WriteStage) into file in place,
// from its first byte, and syncs it: file is a disk a running machine has
// attached (the kubebake-qemu builder's stage disk), which a new file
// renamed over it would not reach. The file keeps its size: an archive
// that does not fit fails with a *StageTooLargeError (and leaves the
// disk's content undefined); whatever an earlier archive left after the
// end of this one is never read, since tar stops at the end-of-archive
// blocks. It returns the archive's size.
func FillStageDisk(file string, p *render.Plan, inputs map[string]string) (int64, error) {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("stage disk: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stage disk: %w", err)
	}
	if !info.Mode().IsRegular() {
		return 0, fmt.Errorf("stage disk: %s is not a regular file", file)
	}
	size, err := WriteStage(&capacityWriter{w: f, left: info.Size(), capacity: info.Size()}, p, inputs)
	if err != nil {
		return size, err
	}
	if err := f.Sync(); err != nil {
		return size, fmt.Errorf("stage disk: %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return size, fmt.Errorf("stage disk: %s: %w", file, err)
	}
	return size, nil
}

// StageTooLargeError is a stage archive larger than the disk it was to be
// written into.
type StageTooLargeError struct {
	// Capacity is the disk's size in bytes.
	Capacity int64
}

func (e *StageTooLargeError) Error() string {
	return fmt.Sprintf("the stage does not fit the stage disk (%d bytes)", e.Capacity)
}

// StageBytes is the size of what the plan stages: its files, step scripts
// and inputs, without the archive's headers. It fails as staging would on
// an input that is missing or not a regular file.
func StageBytes(p *render.Plan, inputs map[string]string) (int64, error) {
	entries, err := stageEntries(p, inputs)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range entries {
		if e.host == "" {
			n += int64(len(e.data))
			continue
		}
		info, err := os.Stat(e.host)
		if err != nil {
			return 0, fmt.Errorf("input %s: %w", path.Base(e.rel), err)
		}
		if !info.Mode().IsRegular() {
			return 0, fmt.Errorf("input %s: %s is not a regular file", path.Base(e.rel), e.host)
		}
		n += info.Size()
	}
	return n, nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// capacityWriter writes at most capacity bytes in all.
type capacityWriter struct {
	w              io.Writer
	left, capacity int64
}

func (c *capacityWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.left {
		return 0, &StageTooLargeError{Capacity: c.capacity}
	}
	n, err := c.w.Write(b)
	c.left -= int64(n)
	return n, err
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
// into stage on the target. A block device's cached blocks are dropped
// first (blockdev, from util-linux, which every supported distro has):
// the kubebake-qemu builder's disk is written while the machine runs, after
// udev read it empty at boot, and again by a second kubebake provisioner,
// and without the flush tar could read those old blocks from the guest's
// page cache.
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
if [ -b "$dev" ]; then
  blockdev --flushbufs "$dev"
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
	fmt.Fprintf(progress, "kubebake: [stage] the machine unpacked the stage disk in %.1fs\n", time.Since(start).Seconds())
	return nil
}
