package nodeconfig

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Patch types, as kubeadm names them in a patch file's name.
const (
	PatchStrategic = "strategic"
	PatchMerge     = "merge"
	PatchJSON      = "json"
)

// patchTargets are kubeadm's patch targets and the roles they apply to:
// a static Pod exists on control-plane nodes only, CoreDNS is deployed by
// init.
var patchTargets = map[string][]string{
	"kube-apiserver":          {RoleInit, RoleControlPlane},
	"kube-controller-manager": {RoleInit, RoleControlPlane},
	"kube-scheduler":          {RoleInit, RoleControlPlane},
	"etcd":                    {RoleInit, RoleControlPlane},
	"kubeletconfiguration":    {RoleInit, RoleControlPlane, RoleJoin},
	"corednsdeployment":       {RoleInit},
}

func (v *validator) patches(role string, patches []Patch) {
	for i, p := range patches {
		path := fmt.Sprintf("node.patches[%d]", i)
		roles, ok := patchTargets[p.Target]
		switch {
		case !ok:
			v.errorf(path+".target", "%q is not a kubeadm patch target (kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kubeletconfiguration or corednsdeployment)", p.Target)
		case !slices.Contains(roles, role):
			v.errorf(path+".target", "%s is not on a %s node: kubeadm would never apply the patch", p.Target, role)
		}
		var doc any
		if len(p.Patch) == 0 || json.Unmarshal(p.Patch, &doc) != nil {
			v.errorf(path+".patch", "is required")
			continue
		}
		switch p.Type {
		case "", PatchStrategic, PatchMerge: // "": strategic, by default
			if _, ok := doc.(map[string]any); !ok {
				v.errorf(path+".patch", "a %s patch is a mapping", PatchTypeOf(p))
			}
		case PatchJSON:
			if _, ok := doc.([]any); !ok {
				v.errorf(path+".patch", "a json patch is a list of operations (RFC 6902)")
			}
		default:
			v.errorf(path+".type", "%q is not strategic, merge or json", p.Type)
		}
	}
}

// PatchTypeOf is p's type, strategic when it names none.
func PatchTypeOf(p Patch) string {
	if p.Type == "" {
		return PatchStrategic
	}
	return p.Type
}
