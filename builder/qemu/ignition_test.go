package qemu

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/coreos/ignition/v2/config/v3_5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIgnitionCarriesTheInputs(t *testing.T) {
	ign, p, err := ignitionFor("fedora-coreos-containerd", map[string][]byte{"kubebake-firstboot": []byte("the agent")})
	require.NoError(t, err)
	cfg, rep, err := v3_5.Parse(ign)
	require.NoError(t, err)
	require.False(t, rep.IsFatal(), rep.String())
	require.Len(t, cfg.Ignition.Config.Merge, 1)
	merged := *cfg.Ignition.Config.Merge[0].Source
	plan, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(merged, "data:;base64,"))
	require.NoError(t, err)
	assert.Equal(t, p.Ignition, plan, "the recipe's own Ignition is merged unchanged")
	var found bool
	for _, f := range cfg.Storage.Files {
		if f.Path != "/var/tmp/kubebake/inputs/kubebake-firstboot" {
			continue
		}
		found = true
		assert.Equal(t, 0o755, *f.Mode)
		gz, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*f.Contents.Source, "data:;base64,"))
		require.NoError(t, err)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		require.NoError(t, err)
		b, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, "the agent", string(b))
	}
	assert.True(t, found)

	_, _, err = ignitionFor("debian-13-containerd", nil)
	assert.ErrorContains(t, err, "only Fedora CoreOS recipes bake from Ignition")
	_, _, err = ignitionFor("fedora-coreos-containerd", nil)
	assert.ErrorContains(t, err, "input kubebake-firstboot: no file given for it")
}
