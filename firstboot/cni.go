package firstboot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/internal/sys"
)

// BridgeConflist is the CNI configuration cni.bridge writes. containerd and
// CRI-O take the first file of /etc/cni/net.d in lexical order.
const BridgeConflist = "/etc/cni/net.d/10-kubebake-bridge.conflist"

// KubeletConf is the kubelet's kubeconfig, which may read its own Node.
const KubeletConf = "/etc/kubernetes/kubelet.conf"

// podCIDRPoll is the wait between reads of the node's pod range.
const podCIDRPoll = 5 * time.Second

// BridgeConfig returns the CNI configuration list of a bridge named bridge
// whose host-local ranges are subnets (one per IP family): pods get the
// bridge as their gateway and are masqueraded when they leave the node.
func BridgeConfig(bridge string, subnets []string) ([]byte, error) {
	type rangeT struct {
		Subnet string `json:"subnet"`
	}
	type route struct {
		Dst string `json:"dst"`
	}
	var ranges [][]rangeT
	var routes []route
	for _, s := range subnets {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("pod range %q: not a CIDR", s)
		}
		ranges = append(ranges, []rangeT{{Subnet: n.String()}})
		if ip.To4() != nil {
			routes = append(routes, route{Dst: "0.0.0.0/0"})
		} else {
			routes = append(routes, route{Dst: "::/0"})
		}
	}
	if len(ranges) == 0 {
		return nil, fmt.Errorf("no pod range")
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "kubebake-bridge",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      bridge,
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": ranges,
					"routes": routes,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// bridgeCNI writes the bridge configuration of cni.bridge, with the node's
// allocated pod range unless the config names one.
func (a *agent) bridgeCNI(ctx context.Context, cfg *nodeconfig.NodeConfig) error {
	b := cfg.CNI.Bridge
	var subnets []string
	if b.Subnet != "" {
		for _, s := range strings.Split(b.Subnet, ",") {
			subnets = append(subnets, strings.TrimSpace(s))
		}
	} else {
		var err error
		if subnets, err = a.podCIDRs(ctx, cfg.Node.Name, cfg.Timeouts.PodCIDR.Duration); err != nil {
			return err
		}
	}
	conf, err := BridgeConfig(b.Name, subnets)
	if err != nil {
		return fmt.Errorf("cni.bridge: %w", err)
	}
	if err := writeFileAtomic(a.p.P(BridgeConflist), conf, 0o644); err != nil {
		return fmt.Errorf("cni.bridge: %w", err)
	}
	a.logf("wrote %s: bridge %s, pods in %s", BridgeConflist, b.Name, strings.Join(subnets, ","))
	return nil
}

// podCIDRs waits until the controller manager has allocated the node's pod
// ranges and returns them.
func (a *agent) podCIDRs(ctx context.Context, node string, timeout time.Duration) ([]string, error) {
	cmd := Cmd{a.o.Kubectl, []string{"--kubeconfig", a.p.P(KubeletConf), "get", "node", node, "-o", "jsonpath={.spec.podCIDRs[*]}"}}
	deadline := a.o.Clock.Now().Add(timeout)
	a.logf("waiting up to %s for node %s's pod range", timeout, node)
	var last string
	for {
		res, err := a.o.Runner.Run(ctx, cmd, io.Discard)
		if err == nil {
			if cidrs, ok := parseCIDRs(string(res.Output)); ok {
				return cidrs, nil
			}
			last = "no pod range allocated yet"
		} else {
			last = strings.TrimSpace(sys.Tail(res.Output, 3))
			if last == "" {
				last = err.Error()
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !a.o.Clock.Now().Add(podCIDRPoll).Before(deadline) {
			return nil, fmt.Errorf("cni.bridge: node %s has no pod range after %s (is cluster.podSubnet set on the init node?): %s", node, timeout, last)
		}
		if err := a.o.Clock.Sleep(ctx, podCIDRPoll); err != nil {
			return nil, err
		}
	}
}

// parseCIDRs reads kubectl's space-separated pod ranges; ok is false when
// there are none or one is not a CIDR.
func parseCIDRs(out string) ([]string, bool) {
	fields := strings.Fields(out)
	if len(fields) == 0 {
		return nil, false
	}
	for _, f := range fields {
		if _, _, err := net.ParseCIDR(f); err != nil {
			return nil, false
		}
	}
	return fields, true
}
