package firstboot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Reasons of definite failures, in status.json's reason: what no retry of
// the join can fix, so the join stops at once instead of spending its
// whole timeout.
const (
	ReasonVersionSkew  = "version-skew"
	ReasonCAMismatch   = "ca-mismatch"
	ReasonTokenUnknown = "token-unknown"
	ReasonNodeExists   = "node-exists"
)

// definiteError is a failure with its reason.
type definiteError struct {
	reason string
	err    error
}

func (d *definiteError) Error() string { return d.err.Error() }
func (d *definiteError) Unwrap() error { return d.err }

// reasonOf is err's reason, or "".
func reasonOf(err error) string {
	var d *definiteError
	if errors.As(err, &d) {
		return d.reason
	}
	return ""
}

// What kubeadm join prints for each (kubeadm's messages, 1.28 to 1.37).
var (
	caNotPinnedRE = regexp.MustCompile(`none of the public keys "([^"]*)" are pinned`)
	noJWSRE       = regexp.MustCompile(`could not find a JWS signature in the cluster-info ConfigMap for token ID "([a-z0-9]{6})"`)
	nodeExistsRE  = regexp.MustCompile(`a Node with name "([^"]+)" and status "Ready" already exists in the cluster`)
)

// definiteJoinFailure tells, from a failed kubeadm join's output and what
// the API server says, whether a retry can help; it returns the reason when
// none can, and nil when one may.
func (a *agent) definiteJoinFailure(ctx context.Context, endpoint string, output []byte) error {
	if m := caNotPinnedRE.FindSubmatch(output); m != nil {
		return &definiteError{ReasonCAMismatch, fmt.Errorf("the cluster's CA (public key %s) matches none of bootstrap.caCertHashes: "+
			"the hash names another cluster's CA; take it from the control plane (kubeadm token create --print-join-command)", m[1])}
	}
	if m := nodeExistsRE.FindSubmatch(output); m != nil {
		return &definiteError{ReasonNodeExists, fmt.Errorf("a Node named %s is already Ready in the cluster: "+
			"delete it (kubectl delete node %s) or give this node another name (node.name)", m[1], m[1])}
	}
	if m := noJWSRE.FindSubmatch(output); m != nil {
		// Either the token is unknown or expired, or the cluster's
		// bootstrap signer (in kube-controller-manager) has not signed
		// cluster-info yet. The signatures tell: a cluster that signs
		// other tokens but not this one does not know it.
		ids, err := a.o.APIServer.SignedTokenIDs(ctx, endpoint)
		if err == nil && len(ids) > 0 && !slices.Contains(ids, string(m[1])) {
			slices.Sort(ids)
			return &definiteError{ReasonTokenUnknown, fmt.Errorf("bootstrap token %s is unknown to the cluster or has expired "+
				"(cluster-info is signed for %s only): create a token (kubeadm token create) and give it in bootstrap.token",
				m[1], strings.Join(ids, ", "))}
		}
	}
	return nil
}

// skewBeforeJoin asks the API server for its version and fails
// definitively when this node's kubelet may not join it; an API server
// that does not answer keeps the join's retries.
func (a *agent) skewBeforeJoin(ctx context.Context, role, endpoint, kubelet string) error {
	server, err := a.o.APIServer.Version(ctx, endpoint)
	if err != nil || server == "" {
		return nil
	}
	if err := checkSkew(role, kubelet, server); err != nil {
		return &definiteError{ReasonVersionSkew, err}
	}
	return nil
}
