package firstboot_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

// TestExecRunnerEndToEnd runs init with the real ExecRunner and a fake
// kubeadm script that records its arguments.
func TestExecRunnerEndToEnd(t *testing.T) {
	n := newNode(t, nodeConfigHdr+"role: init\nbootstrap:\n  token: "+cfgToken+"\n")
	bin := n.path("/fakebin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	args := filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + args + "\necho \"[bootstrap-token] Using token: " + cfgToken + "\"\necho \"kubeadm join --token " + printedToken + " \\\\\"\necho \"  --control-plane --certificate-key " + printedCertKey + "\"\nexit 0\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubeadm"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	o := n.options()
	o.Runner = nil // the real ExecRunner
	o.Kubeadm = filepath.Join(bin, "kubeadm")
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()

	got, err := os.ReadFile(args)
	require.NoError(t, err)
	assert.Equal(t, "init --config "+n.path(firstboot.KubeadmConfig)+"\n", string(got))
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, filepath.Join(bin, "kubeadm")+" init --config "+n.path(firstboot.KubeadmConfig), s.Kubeadm.Command)
	assert.Contains(t, n.log.String(), "Using token: <redacted>")
	assert.True(t, n.exists(firstboot.SuccessMarker))
}

func TestExecRunner(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	res, err := firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 7"}}, &log)
	require.Error(t, err)
	var re *firstboot.RunError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 7, re.ExitCode)
	assert.Equal(t, 7, res.ExitCode)
	assert.Equal(t, "out\nerr\n", string(res.Output))
	assert.Equal(t, "out\nerr\n", log.String())
	assert.Equal(t, "sh: exit code 7: exit status 7", err.Error())

	res, err = firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "/nonexistent/kubeadm"}, io.Discard)
	require.Error(t, err)
	assert.Equal(t, -1, res.ExitCode)
	require.ErrorAs(t, err, &re)
	assert.True(t, re.NotStarted)
	assert.Equal(t, "/nonexistent/kubeadm did not run: fork/exec /nonexistent/kubeadm: no such file or directory", err.Error())

	res, err = firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "true"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
}

// TestMissingKubeadm: a kubeadm that cannot run fails the node at once,
// with the reason, for every role; a join is not retried for minutes.
func TestMissingKubeadm(t *testing.T) {
	for _, role := range []string{"init", "join"} {
		t.Run(role, func(t *testing.T) {
			doc := nodeConfigHdr + "role: init\nbootstrap:\n  token: " + cfgToken + "\n"
			if role == "join" {
				doc = joinConfig
			}
			n := newNode(t, doc)
			o := n.options()
			o.Runner = nil // the real ExecRunner
			o.Kubeadm = n.path("/nonexistent/kubeadm")
			require.Error(t, firstboot.Run(context.Background(), o))
			s := n.status()
			assert.Equal(t, firstboot.ResultFailure, s.Result)
			assert.Contains(t, s.Error, "kubeadm did not run: fork/exec "+o.Kubeadm+": no such file or directory")
			require.NotNil(t, s.Kubeadm)
			assert.Equal(t, 1, s.Kubeadm.Attempts, "not retried")
			assert.True(t, n.exists(firstboot.FailureMarker))
		})
	}
}
