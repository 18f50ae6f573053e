//go:build kubebake_embed

package firstbootbin

import "embed"

//go:embed bin/kubebake-firstboot-linux-amd64 bin/kubebake-firstboot-linux-arm64
var binaries embed.FS

func embedded(arch string) ([]byte, bool) {
	b, err := binaries.ReadFile("bin/kubebake-firstboot-linux-" + arch)
	return b, err == nil
}
