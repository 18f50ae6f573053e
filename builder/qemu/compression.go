package qemu

import "github.com/kubebake/kubebake/internal/diskformat"

// compressionDefaults reconciles the two ways to ask for the qcow2's
// compression: compress (or packer-plugin-qemu's disk_compression), a
// switch, and compression_type, the kind. Either alone decides; both must
// agree (compress = false is compression_type = "none"). Afterwards both
// are set: compression_type to zlib (the default), zstd or none.
func (c *Config) compressionDefaults(add func(string, ...any)) {
	if c.CompressionType == "" {
		on := c.Compress == nil || *c.Compress
		c.Compress = &on
		c.CompressionType = string(diskformat.DefaultCompression)
		if !on {
			c.CompressionType = string(diskformat.CompressionNone)
		}
		return
	}
	comp, err := diskformat.ParseCompression("compression_type", c.CompressionType)
	if err != nil {
		add("%w", err)
		comp = diskformat.DefaultCompression
	}
	defer func() { c.CompressionType = string(comp) }()
	on := comp != diskformat.CompressionNone
	if c.Compress != nil && *c.Compress != on {
		add("compression_type %q and compress (or disk_compression) = %t contradict: give one (compress = false is compression_type = %q)",
			c.CompressionType, *c.Compress, diskformat.CompressionNone)
	}
	c.Compress = &on
}

// compression is the qcow2 compression the configuration asks for:
// compression_type, else none when compress is false, else the default.
func (c *Config) compression() diskformat.Compression {
	switch {
	case c.CompressionType != "":
		return diskformat.Compression(c.CompressionType)
	case c.Compress != nil && !*c.Compress:
		return diskformat.CompressionNone
	}
	return diskformat.DefaultCompression
}
