package firstboot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// TestCheckSkew: a kubelet may be up to three minors older than its API
// server and never newer; a control-plane node one minor at most.
func TestCheckSkew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		role, kubelet, server string
		ok                    bool
	}{
		{nodeconfig.RoleJoin, "v1.36.3", "v1.36.0", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.36.9", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.37.1", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.39.0", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.40.0", false},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.35.9", false},
		{nodeconfig.RoleJoin, "v1.37.0-rc.1", "v1.36.3", false},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.37.0-rc.1", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.36.3-eks-1234", true},
		{nodeconfig.RoleJoin, "v1.36.3", "v1.36.3+k3s1", true},
		{nodeconfig.RoleControlPlane, "v1.36.3", "v1.37.0", true},
		{nodeconfig.RoleControlPlane, "v1.36.3", "v1.38.0", false},
		{nodeconfig.RoleControlPlane, "v1.37.0", "v1.36.3", false},
		{nodeconfig.RoleJoin, "v1.36.3", "not a version", true}, // kubeadm judges
		{nodeconfig.RoleJoin, "", "v1.36.3", true},
	}
	for _, tc := range cases {
		err := checkSkew(tc.role, tc.kubelet, tc.server)
		if tc.ok {
			assert.NoError(t, err, "%s kubelet %s, server %s", tc.role, tc.kubelet, tc.server)
		} else {
			require.ErrorIs(t, err, errSkew, "%s kubelet %s, server %s", tc.role, tc.kubelet, tc.server)
			assert.Contains(t, err.Error(), tc.kubelet)
			assert.Contains(t, err.Error(), tc.server)
		}
	}
	m, err := minorOf("v1.36+")
	require.NoError(t, err)
	assert.Equal(t, 36, m)
}
