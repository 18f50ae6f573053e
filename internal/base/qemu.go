package base

// convertArgs are qemu-img's arguments to turn the raw disk into a compressed
// qcow2 image.
func convertArgs(raw, qcow2 string) []string {
	return []string{"convert", "-f", "raw", "-O", "qcow2", "-c", raw, qcow2}
}
