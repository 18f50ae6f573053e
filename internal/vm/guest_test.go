package vm

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/internal/testutil"
)

// TestBuildUserDataSchema has cloud-init validate the build user's
// cloud-config.
func TestBuildUserDataSchema(t *testing.T) {
	t.Parallel()
	bin := testutil.Tool(t, "cloud-init")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	ud := BuildUserData(BuildUser, signer.PublicKey())
	f := filepath.Join(t.TempDir(), "user-data")
	require.NoError(t, os.WriteFile(f, ud, 0o600))
	res, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
	require.NoError(t, err, "%s", res)
	assert.Contains(t, string(ud), "ssh-ed25519 ")
	assert.Contains(t, string(ud), "name: "+BuildUser)
	script := SealAndPowerOff(BuildUser)
	out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.Contains(script, "userdel --remove --force "+BuildUser))
}
