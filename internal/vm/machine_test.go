package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWaitSerial runs a stand-in for QEMU (sleep) and writes its serial
// console by hand: the marker is found, a kernel panic ends the wait at
// once instead of at the timeout, and a quiet console times out.
func TestWaitSerial(t *testing.T) {
	t.Parallel()
	marker := regexp.MustCompile(`KUBEBAKE-TEST-DONE (\d+)`)
	tests := []struct {
		name    string
		console string
		want    string
		wantErr error
		timeout bool
	}{
		{name: "marker", console: "[    9.1] systemd[1]: Started.\nKUBEBAKE-TEST-DONE 0\n", want: "KUBEBAKE-TEST-DONE 0"},
		{name: "marker before a later panic", console: "KUBEBAKE-TEST-DONE 3\n[ 99.0] Kernel panic - not syncing: sysrq triggered crash\n", want: "KUBEBAKE-TEST-DONE 3"},
		{name: "kernel panic", console: "[    2.117260] Kernel panic - not syncing: Fatal exception in interrupt\r\n[    3.801056] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---\n", wantErr: ErrPanicked},
		{name: "quiet console", console: "[    1.0] Linux version 6.12\n", timeout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			serial := filepath.Join(t.TempDir(), "serial.log")
			require.NoError(t, os.WriteFile(serial, []byte(tc.console), 0o644))
			m, err := Start("sleep", []string{"60"}, serial)
			require.NoError(t, err)
			t.Cleanup(func() { m.Stop(time.Second) })
			start := time.Now()
			got, err := m.WaitSerial(context.Background(), marker, 2*time.Second)
			switch {
			case tc.wantErr != nil:
				require.Error(t, err)
				assert.True(t, errors.Is(err, tc.wantErr), "%v", err)
				assert.Contains(t, err.Error(), "Kernel panic - not syncing: Fatal exception in interrupt")
				assert.Less(t, time.Since(start), time.Second, "a panic ends the wait at once")
			case tc.timeout:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "did not appear on the serial console within 2s")
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, string(got))
			}
		})
	}
}
