package mounts

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMountsUnder(t *testing.T) {
	t.Parallel()
	const info = `22 1 0:21 / / rw,relatime - overlay overlay rw
35 22 0:5 / /proc rw - proc proc rw
301 22 0:5 / /var/tmp/kubebake-base-1/rootfs/proc rw,relatime - proc proc rw
302 22 0:20 / /var/tmp/kubebake-base-1/rootfs/sys rw,relatime - sysfs sysfs rw
303 302 0:30 / /var/tmp/kubebake-base-1/rootfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw
304 22 0:5 / /var/tmp/kubebake-base-10/rootfs/proc rw - proc proc rw
305 22 0:40 / /var/tmp/with\040space/rootfs/dev/pts rw - devpts devpts rw
`
	cases := []struct {
		name, dir string
		want      []string
	}{
		{name: "deepest first", dir: "/var/tmp/kubebake-base-1", want: []string{
			"/var/tmp/kubebake-base-1/rootfs/sys/fs/cgroup",
			"/var/tmp/kubebake-base-1/rootfs/proc",
			"/var/tmp/kubebake-base-1/rootfs/sys",
		}},
		{name: "trailing slash, and not a sibling with a longer name", dir: "/var/tmp/kubebake-base-10/", want: []string{
			"/var/tmp/kubebake-base-10/rootfs/proc",
		}},
		{name: "escaped space", dir: "/var/tmp/with space", want: []string{"/var/tmp/with space/rootfs/dev/pts"}},
		{name: "nothing mounted", dir: "/var/tmp/kubebake-base-2", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, Under(info, tc.dir))
		})
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`/a\040b`, "/a b"},
		{`/tab\011x`, "/tab\tx"},
		{`/back\134slash`, `/back\slash`},
		{`/short\04`, `/short\04`},
		{`/plain`, "/plain"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, unescapeMountinfo(tc.in), tc.in)
	}
}
