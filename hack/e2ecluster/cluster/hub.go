package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// maxFrame bounds one Ethernet frame on the link (jumbo frames and
// virtio-net's offloads stay well below it).
const maxFrame = 1 << 17

// portQueue is how many frames wait for one machine before the hub drops
// what comes next for it, as a switch port's queue does.
const portQueue = 512

// Hub is the private link between the machines: a layer-2 hub on a unix
// socket that QEMU's stream netdev connects to (server=off). Each frame
// arrives as QEMU sends it, a 4-byte big-endian length and the frame, and
// goes to every other machine. Unlike one machine serving the socket to
// one other, any number of machines join and leave, in any order. A
// machine that does not take its frames (QEMU stops reading while the
// guest's receive ring is full) loses them, as on a switch, and never
// holds up the others.
type Hub struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]chan []byte
	wg    sync.WaitGroup
	// Dropped counts frames dropped for a full port queue.
	dropped int
}

// NewHub listens on the unix socket path (replacing a stale one).
func NewHub(path string) (*Hub, error) {
	if len(path) > 100 {
		return nil, fmt.Errorf("link socket %s: the path is too long for a unix socket", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("link socket: %w", err)
	}
	h := &Hub{ln: ln, conns: map[net.Conn]chan []byte{}}
	h.wg.Add(1)
	go h.accept()
	return h, nil
}

// Addr is the socket's path.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// Netdev is the QEMU -netdev value that joins a machine to the hub.
func (h *Hub) Netdev() string {
	return "stream,id=net0,server=off,addr.type=unix,addr.path=" + h.Addr()
}

// Close stops the hub and disconnects every machine.
func (h *Hub) Close() error {
	err := h.ln.Close()
	h.mu.Lock()
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	_ = os.Remove(h.Addr())
	return err
}

func (h *Hub) accept() {
	defer h.wg.Done()
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		q := make(chan []byte, portQueue)
		h.mu.Lock()
		h.conns[c] = q
		h.mu.Unlock()
		h.wg.Add(2)
		go h.serve(c)
		go h.send(c, q)
	}
}

// serve forwards c's frames to every other connection until c closes.
func (h *Hub) serve(c net.Conn) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		if q, ok := h.conns[c]; ok {
			close(q)
			delete(h.conns, c)
		}
		h.mu.Unlock()
		c.Close()
	}()
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrame {
			return // not QEMU's framing: drop the machine rather than guess
		}
		frame := make([]byte, 4+n)
		copy(frame, hdr[:])
		if _, err := io.ReadFull(c, frame[4:]); err != nil {
			return
		}
		h.mu.Lock()
		for o, q := range h.conns {
			if o == c {
				continue
			}
			select {
			case q <- frame:
			default:
				h.dropped++
			}
		}
		h.mu.Unlock()
	}
}

// send writes the frames queued for c, one whole frame at a time, until
// its queue is closed.
func (h *Hub) send(c net.Conn, q chan []byte) {
	defer h.wg.Done()
	for frame := range q {
		if _, err := c.Write(frame); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.Close() // its reader ends and closes the queue
			}
			for range q {
			}
			return
		}
	}
}

// Dropped is the number of frames dropped so far for a full port queue.
func (h *Hub) Dropped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dropped
}
