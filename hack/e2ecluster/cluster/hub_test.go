package cluster

import (
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sendFrame(t *testing.T, c net.Conn, frame []byte) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, uint32(len(frame)))
	_, err := c.Write(append(b, frame...))
	require.NoError(t, err)
}

func readFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	var n [4]byte
	_, err := io.ReadFull(c, n[:])
	require.NoError(t, err)
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	_, err = io.ReadFull(c, b)
	require.NoError(t, err)
	return b
}

// TestHub has three machines on the hub: a frame from one reaches the
// other two, framed as QEMU frames it, and never comes back to its sender;
// a machine that leaves does not stop the others.
func TestHub(t *testing.T) {
	h, err := NewHub(filepath.Join(t.TempDir(), "link.sock"))
	require.NoError(t, err)
	defer h.Close()
	dial := func() net.Conn {
		c, err := net.Dial("unix", h.Addr())
		require.NoError(t, err)
		return c
	}
	a, b, c := dial(), dial(), dial()
	defer a.Close()
	defer b.Close()
	// Wait until the hub has all three.
	require.Eventually(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.conns) == 3 }, 5*time.Second, 10*time.Millisecond)

	frame := []byte("\xff\xff\xff\xff\xff\xff\x52\x54\x00\x00\x00\x01\x08\x06 an ARP request")
	sendFrame(t, a, frame)
	assert.Equal(t, frame, readFrame(t, b))
	assert.Equal(t, frame, readFrame(t, c))
	require.NoError(t, a.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = a.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne, "the sender got its own frame back")
	assert.True(t, ne.Timeout())

	c.Close()
	sendFrame(t, b, []byte("reply"))
	assert.Equal(t, []byte("reply"), readFrame(t, a))
	assert.Equal(t, "stream,id=net0,server=off,addr.type=unix,addr.path="+h.Addr(), h.Netdev())
}

// TestHubSlowMachine: a machine that stops reading loses frames (they are
// dropped once its queue is full) and the others keep talking.
func TestHubSlowMachine(t *testing.T) {
	h, err := NewHub(filepath.Join(t.TempDir(), "link.sock"))
	require.NoError(t, err)
	defer h.Close()
	dial := func() net.Conn {
		c, err := net.Dial("unix", h.Addr())
		require.NoError(t, err)
		return c
	}
	a, b, stuck := dial(), dial(), dial()
	defer a.Close()
	defer b.Close()
	defer stuck.Close()
	require.Eventually(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.conns) == 3 }, 5*time.Second, 10*time.Millisecond)
	// stuck never reads: far more than its socket buffer and its queue.
	frame := make([]byte, 1500)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for i := 0; i < 4*portQueue; i++ {
			sendFrame(t, a, frame)
		}
		// b's own queue may be full when one "last" comes (a lossy link,
		// as designed): say it until b has it.
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				sendFrame(t, a, []byte("last"))
			}
		}
	}()
	// b reads on (a fast sender may overrun its queue too) until the last
	// frame: the hub never waited for stuck.
	got := 0
	for {
		f := readFrame(t, b)
		if string(f) == "last" {
			break
		}
		got++
	}
	t.Logf("b got %d of %d frames; %d dropped in all", got, 4*portQueue, h.Dropped())
	assert.Greater(t, got, portQueue, "b got more than one queue's worth")
	assert.Positive(t, h.Dropped(), "stuck's frames past its queue and socket buffer were dropped")
}
