package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		accel   string
		work    bool
		wantErr string
	}{
		{name: "tcg as asked", accel: vm.AccelTCG, work: true},
		{name: "no work directory", accel: vm.AccelTCG, wantErr: "-work"},
		{name: "unknown accelerator", accel: "xen", work: true, wantErr: `accelerator "xen"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := ""
			if tc.work {
				work = filepath.Join(t.TempDir(), "w")
			}
			var out, log bytes.Buffer
			err := run(context.Background(), tc.accel, work, &out, &log)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Empty(t, out.String(), "nothing printed on error")
				return
			}
			if _, serr := os.Stat("/usr/share/OVMF"); serr != nil {
				require.Error(t, err, "no OVMF here: the firmware's error")
				return
			}
			require.NoError(t, err)
			kv := map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				k, v, ok := strings.Cut(l, "=")
				require.True(t, ok, "line %q is KEY=VALUE", l)
				kv[k] = v
			}
			assert.Equal(t, vm.AccelTCG, kv["accel"])
			assert.Equal(t, vm.DefaultTCGCPU, kv["cpu"])
			assert.FileExists(t, kv["code"])
			assert.Equal(t, work, filepath.Dir(kv["vars"]), "the variables are a copy in -work")
			assert.FileExists(t, kv["vars"])
			assert.Contains(t, log.String(), "accelerator tcg (asked for)")
		})
	}
}
