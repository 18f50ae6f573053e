// Command packer-plugin-kubebake is the kubebake Packer plugin: the
// kubebake provisioner (provisioner "kubebake") and the kubebake-qemu
// builder (source "kubebake-qemu").
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"
	pluginversion "github.com/hashicorp/packer-plugin-sdk/version"
	semver "k8s.io/apimachinery/pkg/util/version"

	"github.com/kubebake/kubebake/builder/qemu"
	"github.com/kubebake/kubebake/provisioners/kubebake"
)

// version is set at release with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run registers the components and serves Packer.
func run(args []string) error {
	set := plugin.NewSet()
	set.RegisterProvisioner(plugin.DEFAULT_NAME, new(kubebake.Provisioner))
	set.RegisterBuilder("qemu", new(qemu.Builder))
	core, pre, meta := pluginVersion(version)
	set.SetVersion(pluginversion.NewPluginVersion(core, pre, meta))
	return set.RunCommand(args...)
}

// pluginVersion splits a release version (v1.2.3, v1.2.3-rc.1) into the
// SDK's parts; anything else (a commit, "dev") is 0.0.0-dev. Build
// metadata is dropped: Packer ignores installed plugins whose version
// carries it.
func pluginVersion(v string) (core, pre, meta string) {
	sv, err := semver.ParseSemantic(v)
	if err != nil {
		return "0.0.0", "dev", ""
	}
	return fmt.Sprintf("%d.%d.%d", sv.Major(), sv.Minor(), sv.Patch()), sv.PreRelease(), ""
}
