// Package acc holds the Packer plugin's acceptance tests: they run a real
// packer binary (v1.16.0, built by hack/packer.sh) with the plugin
// installed from its binary, behind PACKER_ACC=1 (make test runs the quick
// ones; make acc adds the full kubebake-qemu build, KUBEBAKE_ACC_QEMU=1).
package acc
