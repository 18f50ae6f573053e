package vm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// firmwareCandidates are where Debian's ovmf package puts OVMF.
func firmwareCandidates() [][2]string {
	return [][2]string{
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	}
}

// Firmware finds OVMF (code given, or Debian's) and makes a writable copy
// of its variables in work.
func Firmware(code, vars, work string) (string, string, error) {
	if code == "" {
		for _, c := range firmwareCandidates() {
			if _, err := os.Stat(c[0]); err == nil {
				code, vars = c[0], c[1]
				break
			}
		}
	}
	if code == "" {
		return "", "", fmt.Errorf("the image boots with UEFI, but no OVMF firmware was found (apt-get install ovmf)")
	}
	src, err := os.Open(vars)
	if err != nil {
		return "", "", fmt.Errorf("OVMF variables: %w", err)
	}
	defer src.Close()
	dst := filepath.Join(work, "OVMF_VARS.fd")
	f, err := os.Create(dst)
	if err != nil {
		return "", "", err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return "", "", err
	}
	return code, dst, f.Close()
}
