package nodeconfig

import (
	"fmt"
	"strconv"
	"strings"
)

// V1Beta4Minor is the first Kubernetes minor whose kubeadm reads the
// kubeadm.k8s.io/v1beta4 configuration, and with it
// Cluster.EncryptionAlgorithm's key types beyond RSA-2048.
const V1Beta4Minor = 31

// Minor reads MINOR from a Kubernetes version v1.MINOR.PATCH (the v may be
// left out; anything after MINOR is not read).
func Minor(kubernetesVersion string) (int, error) {
	parts := strings.SplitN(strings.TrimPrefix(kubernetesVersion, "v"), ".", 3)
	if len(parts) < 2 || parts[0] != "1" {
		return 0, fmt.Errorf("kubernetes version %q: want v1.MINOR.PATCH", kubernetesVersion)
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil || minor < 0 {
		return 0, fmt.Errorf("kubernetes version %q: want v1.MINOR.PATCH", kubernetesVersion)
	}
	return minor, nil
}
