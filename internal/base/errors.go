package base

import (
	"errors"

	"github.com/kubebake/kubebake/internal/mounts"
)

var (
	// ErrNotRoot is returned when Build does not run as root: debootstrap
	// and chroot need it, and mkfs.ext4 -d copies file owners only as root.
	ErrNotRoot = errors.New("building a base image needs root (debootstrap, chroot, and mkfs.ext4 -d to keep file owners); run it as root, e.g. with sudo")
	// ErrUnknownDistro is returned for a distro not in the table.
	ErrUnknownDistro = errors.New("unknown distro")
	// ErrMissingTools is returned when host programs the build runs are not
	// installed.
	ErrMissingTools = errors.New("missing host tools")
	// ErrDiskTooSmall is returned when the disk leaves too little room for
	// the root partition.
	ErrDiskTooSmall = errors.New("disk too small")
	// ErrStillMounted is returned when something is still mounted inside the
	// work directory, which is then left in place rather than removed.
	ErrStillMounted = mounts.ErrStillMounted
)
