package qemu

import (
	"context"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/vm"
)

// stepCreateSeed writes a NoCloud seed (a cidata ISO made with go-diskfs)
// whose user data creates the build user with the build's public key.
type stepCreateSeed struct {
	user      string
	publicKey func() []byte
	hostname  string
}

func (s *stepCreateSeed) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(s.publicKey())
	if err != nil {
		return haltf(state, "the build's SSH public key: %w", err)
	}
	seed := filepath.Join(state.Get(keyWorkDir).(string), "seed.iso")
	if err := nocloud.WriteSeed(seed, nocloud.Seed{
		UserData: vm.BuildUserData(s.user, pub),
		MetaData: nocloud.DefaultMetaData("", s.hostname),
	}); err != nil {
		return haltf(state, "NoCloud seed: %w", err)
	}
	state.Put(keySeed, seed)
	return multistep.ActionContinue
}

func (s *stepCreateSeed) Cleanup(multistep.StateBag) {}
