// Package mounts removes a work directory that may still hold what a
// killed or interrupted build left in it: mounts (a loop-mounted root,
// /proc, /sys and /dev bound into a chroot) and loop devices backed by its
// files. Removing such a directory without unmounting first would reach
// into the mounted file systems, the host's /dev among them.
package mounts

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Under returns the mount points at or below dir listed in mountinfo
// (the format of /proc/self/mountinfo), deepest first, the order to unmount
// them in. debootstrap mounts /proc and /sys in its target and unmounts them
// when it ends, but not always when it is killed; removing a work directory
// with a live mount inside would reach into the host.
func Under(mountinfo, dir string) []string {
	dir = filepath.Clean(dir)
	var out []string
	for line := range strings.Lines(mountinfo) {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	// Deepest first; a path mounted twice is unmounted twice.
	slices.SortStableFunc(out, func(a, b string) int {
		return strings.Count(b, "/") - strings.Count(a, "/")
	})
	return out
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
