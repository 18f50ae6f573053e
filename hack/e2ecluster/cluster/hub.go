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

// Hub is the private link between the machines: a layer-2 hub on a unix
// socket that QEMU's stream netdev connects to (server=off). Each frame
// arrives as QEMU sends it, a 4-byte big-endian length and the frame, and
// goes to every other machine. Unlike one machine serving the socket to
// one other, any number of machines join and leave, in any order.
type Hub struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
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
	h := &Hub{ln: ln, conns: map[net.Conn]bool{}}
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
		h.mu.Lock()
		h.conns[c] = true
		h.mu.Unlock()
		h.wg.Add(1)
		go h.serve(c)
	}
}

// serve forwards c's frames to every other connection until c closes.
func (h *Hub) serve(c net.Conn) {
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 4+maxFrame)
	for {
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(buf[:4])
		if n > maxFrame {
			return // not QEMU's framing: drop the machine rather than guess
		}
		if _, err := io.ReadFull(c, buf[4:4+n]); err != nil {
			return
		}
		// One frame at a time, whole, to each of the others.
		h.mu.Lock()
		for o := range h.conns {
			if o == c {
				continue
			}
			_, err := o.Write(buf[:4+n])
			if err != nil && !errors.Is(err, net.ErrClosed) {
				o.Close() // its reader ends and removes it
			}
		}
		h.mu.Unlock()
	}
}
