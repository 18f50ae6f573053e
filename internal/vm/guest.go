package vm

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// BuildUser is the user a bake in a machine (kubebake build --mode vm, the
// Packer builder) creates with an ephemeral key and removes before the
// image is written.
const BuildUser = "kubebake-build"

// BuildUserData is the cloud-config that creates the build user with the
// public key and passwordless sudo.
func BuildUserData(user string, pub ssh.PublicKey) []byte {
	return []byte("#cloud-config\n" +
		"users:\n" +
		"  - name: " + user + "\n" +
		"    sudo: ALL=(ALL) NOPASSWD:ALL\n" +
		"    shell: /bin/bash\n" +
		"    lock_passwd: true\n" +
		"    ssh_authorized_keys:\n" +
		"      - " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + "\n" +
		"ssh_pwauth: false\n")
}

// SealAndPowerOff is a command that runs detached after the steps: the
// build user cannot remove itself while logged in, so it goes once the
// session has closed, with the state its login and the boot left, and the
// machine powers off.
func SealAndPowerOff(user string) string {
	return `nohup setsid bash -c '
sleep 2
pkill -KILL -u ` + user + ` || true
userdel --remove --force ` + user + ` || true
rm -f /etc/sudoers.d/90-cloud-init-users
if command -v cloud-init >/dev/null; then cloud-init clean --logs --seed; fi
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub /root/.bash_history
truncate -s 0 /etc/machine-id
find /var/log -type f -exec truncate -s 0 {} +
rm -rf /var/log/journal/*
fstrim --all || true
systemctl poweroff
' >/dev/null 2>&1 &`
}
