package qemu

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepVerifySource uses a local source image in place (the download step
// handles URLs) and checks it against its checksum when one is given.
type stepVerifySource struct {
	path, checksum string
}

func (s *stepVerifySource) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	if s.checksum != "" && s.checksum != "none" {
		ui.Say(fmt.Sprintf("Checking %s against %s", s.path, s.checksum))
		if err := verifyChecksum(s.path, s.checksum); err != nil {
			return haltf(state, "source_image: %w", err)
		}
	}
	state.Put(keySource, s.path)
	return multistep.ActionContinue
}

func (s *stepVerifySource) Cleanup(multistep.StateBag) {}

// verifyChecksum checks a file against TYPE:HEX (sha256 or sha512).
func verifyChecksum(path, checksum string) error {
	kind, want, _ := strings.Cut(checksum, ":")
	var h hash.Hash
	switch strings.ToLower(kind) {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("checksum type %q: local images are checked with sha256 or sha512", kind)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("%s has %s %s, want %s", path, kind, got, want)
	}
	return nil
}
