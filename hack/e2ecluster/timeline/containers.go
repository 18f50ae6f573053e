package timeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Container is one container the node's runtime knew at the timeline
// script's end (crictl ps -a): its name, its pod, its attempt (0 for the
// first, n for the n-th restart), its state and when it was created, on
// the guest's clock.
type Container struct {
	Name    string  `json:"name"`
	Pod     string  `json:"pod,omitempty"`
	Attempt int     `json:"attempt"`
	State   string  `json:"state,omitempty"`
	Created float64 `json:"created"`
}

// crictlPS is what crictl ps -a -o json prints, the fields read here.
// createdAt is nanoseconds since the epoch, printed as a string (an int64
// in protobuf's JSON) or a number.
type crictlPS struct {
	Containers []struct {
		Metadata struct {
			Name    string `json:"name"`
			Attempt int    `json:"attempt"`
		} `json:"metadata"`
		State     string            `json:"state"`
		CreatedAt json.RawMessage   `json:"createdAt"`
		Labels    map[string]string `json:"labels"`
	} `json:"containers"`
}

// parseContainers reads the script's CONTAINERS line: the wall clock in
// nanoseconds and the guest's uptime, read together, then crictl's JSON
// on one line; the wall-clock creation times become guest times.
func parseContainers(text string) ([]Container, error) {
	f := strings.SplitN(strings.TrimSpace(text), " ", 3)
	if len(f) < 3 {
		return nil, fmt.Errorf("want WALL_NS UPTIME JSON")
	}
	wall, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("wall clock: %w", err)
	}
	up, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return nil, fmt.Errorf("uptime: %w", err)
	}
	var ps crictlPS
	if err := json.Unmarshal([]byte(f[2]), &ps); err != nil {
		return nil, fmt.Errorf("crictl ps: %w", err)
	}
	var out []Container
	for _, c := range ps.Containers {
		ns, err := strconv.ParseInt(strings.Trim(string(c.CreatedAt), `"`), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("container %s: createdAt %s: %w", c.Metadata.Name, c.CreatedAt, err)
		}
		out = append(out, Container{
			Name: c.Metadata.Name, Pod: c.Labels["io.kubernetes.pod.name"], Attempt: c.Metadata.Attempt, State: c.State,
			Created: round3(up - float64(wall-ns)/1e9),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created < out[j].Created })
	return out, nil
}

// PodContainers are the containers whose times the table shows, in the
// order a control plane starts them.
var PodContainers = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "coredns"}

// containerSegments: from kubeadm starting the kubelet to each container's
// first creation, and, for one that was restarted, from its first to its
// last creation (the seconds its restarts and the kubelet's back-off
// cost).
func (b *builder) containerSegments(cs []Container, kubeletStart float64) {
	if len(cs) == 0 || kubeletStart <= 0 {
		return
	}
	for _, name := range PodContainers {
		first, last, restarts := 0.0, 0.0, 0
		for _, c := range cs {
			if c.Name != name || c.Created < kubeletStart {
				continue
			}
			if first == 0 || c.Created < first {
				first = c.Created
			}
			if c.Attempt > 0 {
				restarts++
				last = max(last, c.Created)
			}
		}
		if first == 0 {
			continue
		}
		b.add("kubelet started → "+name+" container created", GroupPods, ClockGuest, kubeletStart, first)
		if restarts > 0 {
			b.add(name+": first container → last restart's (runs that restarted it)", GroupPods, ClockGuest, first, last)
		}
	}
}

// kubeletStarted is when kubeadm started the kubelet, as kubeadmSegments
// found it in kubeadm's output (the start of its KubeletStartedSegment);
// 0 when it did not.
func kubeletStarted(segs []Segment) float64 {
	for _, s := range segs {
		if s.Name == KubeletStartedSegment {
			return s.Start
		}
	}
	return 0
}
