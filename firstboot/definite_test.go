package firstboot_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

// fakeAPIServer serves what a joining node asks without credentials: the
// version and the kube-public cluster-info ConfigMap, signed for tokens.
func fakeAPIServer(t *testing.T, version string, signed ...string) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/version":
			_ = json.NewEncoder(w).Encode(map[string]string{"major": "1", "gitVersion": version})
		case "/api/v1/namespaces/kube-public/configmaps/cluster-info":
			data := map[string]string{"kubeconfig": "apiVersion: v1\nkind: Config\n"}
			for _, id := range signed {
				data["jws-kubeconfig-"+id] = "eyJhbGciOiJIUzI1NiIsImtpZCI6In0..sig"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMap", "data": data})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestRunJoinDefiniteFailures: what no retry can fix ends the join at once
// with its reason in status.json and on the console; what a retry may fix
// is retried.
func TestRunJoinDefiniteFailures(t *testing.T) {
	t.Parallel()
	const tokenID = "k8sfb1"
	cases := []struct {
		name       string
		version    string
		signed     []string
		joinOutput string
		failures   int
		wantJoins  int
		wantReason string
		wantError  []string
	}{
		{name: "kubelet newer than the API server", version: "v1.35.2", wantJoins: 0, wantReason: firstboot.ReasonVersionSkew,
			wantError: []string{"kubelet v1.36.3 is newer than the API server v1.35.2"}},
		{name: "kubelet too old for the API server", version: "v1.40.0", wantJoins: 0, wantReason: firstboot.ReasonVersionSkew,
			wantError: []string{"kubelet v1.36.3 is 4 minor versions older than the API server v1.40.0", "at most 3"}},
		{name: "within the skew", version: "v1.39.1", wantJoins: 1},
		{name: "CA hash of another cluster", version: "v1.36.3", failures: -1, wantJoins: 1, wantReason: firstboot.ReasonCAMismatch,
			joinOutput: "error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"sha256:0123abcd\" are pinned\n",
			wantError:  []string{"public key sha256:0123abcd", "bootstrap.caCertHashes"}},
		{name: "a Node of that name is Ready", version: "v1.36.3", failures: -1, wantJoins: 1, wantReason: firstboot.ReasonNodeExists,
			joinOutput: "error execution phase kubelet-start: a Node with name \"node-1\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node\n",
			wantError:  []string{"a Node named node-1 is already Ready", "kubectl delete node node-1"}},
		{name: "token the cluster does not know", version: "v1.36.3", signed: []string{"abcdef", "zz9zz9"}, failures: -1, wantJoins: 1,
			wantReason: firstboot.ReasonTokenUnknown,
			joinOutput: "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"" + tokenID + "\"\n",
			wantError:  []string{"bootstrap token " + tokenID + " is unknown", "signed for abcdef, zz9zz9 only"}},
		{name: "token not signed yet: the signer has not run", version: "v1.36.3", failures: 2, wantJoins: 3,
			joinOutput: "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"" + tokenID + "\"\n"},
		{name: "token signed by now", version: "v1.36.3", signed: []string{tokenID}, failures: 1, wantJoins: 2,
			joinOutput: "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"" + tokenID + "\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endpoint := fakeAPIServer(t, tc.version, tc.signed...)
			n := newNode(t, strings.Replace(joinConfig, "10.0.0.10:6443", endpoint, 1))
			n.api = firstboot.HTTPAPIServer{}
			n.runner.joinFailures, n.runner.joinOutput = tc.failures, tc.joinOutput
			err := n.run()
			joins := 0
			for _, c := range n.runner.commands(n.root) {
				if strings.HasPrefix(c, "kubeadm join") {
					joins++
				}
			}
			assert.Equal(t, tc.wantJoins, joins, "kubeadm join runs")
			s := n.status()
			if tc.wantReason == "" {
				require.NoError(t, err)
				assert.Equal(t, firstboot.ResultSuccess, s.Result)
				return
			}
			require.ErrorIs(t, err, firstboot.ErrFailed)
			assert.Equal(t, firstboot.ResultFailure, s.Result)
			assert.Equal(t, tc.wantReason, s.Reason)
			lines := n.consoleLines()
			require.Len(t, lines, 1)
			for _, want := range tc.wantError {
				assert.Contains(t, s.Error, want)
				assert.Contains(t, lines[0], want)
			}
			assert.Empty(t, n.clock.waits(), "no retry, no backoff")
		})
	}
}
