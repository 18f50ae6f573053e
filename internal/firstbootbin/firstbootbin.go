// Package firstbootbin carries the kubebake-firstboot binaries the Packer
// plugin uploads into images, so users install one thing. The Makefile and
// goreleaser build them for linux/amd64 and linux/arm64 into bin/ and build
// the plugin with the kubebake_embed tag; without it nothing is embedded and
// the provisioner needs firstboot_binary.
package firstbootbin

import "fmt"

// GOARCH maps a machine name as `uname -m` prints it to Go's name.
func GOARCH(machine string) (string, error) {
	switch machine {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	}
	return "", fmt.Errorf("architecture %q: kubebake-firstboot is built for x86_64 and aarch64", machine)
}

// For returns the embedded binary for linux/arch.
func For(arch string) ([]byte, error) {
	b, ok := embedded(arch)
	if !ok {
		return nil, fmt.Errorf("this build carries no kubebake-firstboot for linux/%s (build the plugin with make plugin, or set firstboot_binary)", arch)
	}
	return b, nil
}
