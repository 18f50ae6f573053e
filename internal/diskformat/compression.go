package diskformat

import (
	"fmt"
	"strings"
)

// Compression is how an image's disk data is compressed. A user chooses
// one for qcow2 (ParseCompression): zlib, the default, which every QEMU
// and every qcow2 reader reads; zstd, which needs QEMU 5.1 or later built
// with zstd (Debian 12's 7.2 is), to write and to read, and which other
// qcow2 readers may not know; or none. A streamOptimized VMDK (vmdk, ova)
// always has its own, deflate; raw, vhd and vhdx have none.
type Compression string

// The compressions.
const (
	// CompressionZlib is qcow2's zlib (deflate) clusters, the default.
	CompressionZlib Compression = "zlib"
	// CompressionZstd is qcow2's zstd clusters (compression_type=zstd,
	// QEMU 5.1 and later).
	CompressionZstd Compression = "zstd"
	// CompressionNone is an uncompressed image.
	CompressionNone Compression = "none"
	// CompressionDeflate is a streamOptimized VMDK's deflated grains:
	// only reported (Format.Compression), never chosen.
	CompressionDeflate Compression = "deflate"
)

// DefaultCompression is the compression of a qcow2 when none is chosen:
// zlib, which every consumer of qcow2 reads.
const DefaultCompression = CompressionZlib

// Compressions are the choices ParseCompression accepts, the default
// first.
func Compressions() []string {
	return []string{string(CompressionZlib), string(CompressionZstd), string(CompressionNone)}
}

// ParseCompression reads a user's choice of compression; field names the
// setting it came from (a flag, a configuration field) in the error. Empty
// is the default.
func ParseCompression(field, s string) (Compression, error) {
	switch c := Compression(s); c {
	case "":
		return DefaultCompression, nil
	case CompressionZlib, CompressionZstd, CompressionNone:
		return c, nil
	}
	return "", fmt.Errorf("%s: %q must be one of %s", field, s, strings.Join(Compressions(), ", "))
}

// CheckCompression reports whether f can be written with c (empty: the
// default). zstd is qcow2's alone; zlib and none are accepted for every
// format, and where f has no choice (Compressible false) its own
// compression is written whatever was asked: deflate for a streamOptimized
// VMDK, none for raw, vhd and vhdx.
func (f Format) CheckCompression(c Compression) error {
	switch c {
	case "", CompressionZlib, CompressionNone:
		return nil
	case CompressionZstd:
		if f.Compressible {
			return nil
		}
		if f.OwnCompression != "" {
			return fmt.Errorf("zstd is for qcow2 only: format %s is a streamOptimized VMDK, which compresses its grains with %s by itself", f.Name, f.OwnCompression)
		}
		return fmt.Errorf("zstd is for qcow2 only: format %s is not compressed", f.Name)
	}
	return fmt.Errorf("unknown compression %q (want one of %s)", c, strings.Join(Compressions(), ", "))
}

// Compression is the compression an image that f writes with c (empty:
// the default) has: c for qcow2, the format's own (deflate) for a
// streamOptimized VMDK, none for the rest. c must pass CheckCompression.
func (f Format) Compression(c Compression) Compression {
	switch {
	case f.Compressible && c == "":
		return DefaultCompression
	case f.Compressible:
		return c
	case f.OwnCompression != "":
		return f.OwnCompression
	}
	return CompressionNone
}

// compressionArgs are qemu-img convert's -c and the -o options for c:
// the format's options, and for a qcow2 that is compressed its
// compression_type.
func (f Format) compressionArgs(c Compression) (compress bool, opts string) {
	opts = f.Options
	if c = f.Compression(c); !f.Compressible || c == CompressionNone {
		return false, opts
	}
	if opts != "" {
		opts += ","
	}
	return true, opts + "compression_type=" + string(c)
}
