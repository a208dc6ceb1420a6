package signal

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
)

// gorilla/websocket reads a close frame whose payload is a single byte as a
// close without a status code (1005) and echoes an empty close. RFC 6455
// §5.5.1 allows a close payload of 0 bytes or of at least 2 (the code):
// one byte is a protocol error, to be answered with 1002 as gorilla answers
// the other framing errors. gorilla does not show the payload's length, so
// frameWatch follows the frame headers the client sends as gorilla reads
// them, and the session's close handler asks it.

// errCloseOneByte ends the read loop of a session whose client sent a close
// frame with a 1-byte payload.
var errCloseOneByte = errors.New("close frame with a 1-byte payload")

// reasonBadClose is the reason of the 1002 close frame that answers it.
const reasonBadClose = "close frame payload of 1 byte"

// frameWatch wraps the hijacked connection. Read is called by gorilla's
// reader only (one goroutine; the linger read after it), so its parsing
// state needs no lock; oneByteClose is read by the close handler on the
// same goroutine and is atomic only to stay safe if that ever changes.
type frameWatch struct {
	net.Conn
	hdr  [14]byte // the current frame's header, as far as read
	have int      // bytes of hdr read
	need int      // header length, once the first 2 bytes are known; 0 before
	skip uint64   // payload bytes of the current frame still to pass over

	oneByteClose atomic.Bool
}

func (w *frameWatch) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.scan(p[:n])
	return n, err
}

// NetConn returns the connection it wraps.
func (w *frameWatch) NetConn() net.Conn { return w.Conn }

// scan follows frame boundaries through b: each header (2 bytes, then the
// extended length and the mask key they announce), then its payload.
func (w *frameWatch) scan(b []byte) {
	for len(b) > 0 {
		if w.skip > 0 {
			k := uint64(len(b))
			if k > w.skip {
				k = w.skip
			}
			w.skip -= k
			b = b[k:]
			continue
		}
		w.hdr[w.have] = b[0]
		w.have++
		b = b[1:]
		if w.have == 2 {
			w.need = 2
			switch w.hdr[1] & 0x7f {
			case 126:
				w.need += 2
			case 127:
				w.need += 8
			}
			if w.hdr[1]&0x80 != 0 {
				w.need += 4
			}
		}
		if w.have < 2 || w.have < w.need {
			continue
		}
		w.skip = w.payloadLen()
		if w.hdr[0]&0x0f == 0x8 && w.skip == 1 {
			w.oneByteClose.Store(true)
		}
		w.have, w.need = 0, 0
	}
}

func (w *frameWatch) payloadLen() uint64 {
	switch n := uint64(w.hdr[1] & 0x7f); n {
	case 126:
		return uint64(w.hdr[2])<<8 | uint64(w.hdr[3])
	case 127:
		var v uint64
		for _, c := range w.hdr[2:10] {
			v = v<<8 | uint64(c)
		}
		return v
	default:
		return n
	}
}

// watchingWriter hands gorilla's Upgrade the hijacked connection wrapped in
// watch.
type watchingWriter struct {
	http.ResponseWriter
	watch *frameWatch
}

func (w watchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not implement http.Hijacker")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.watch.Conn = conn
	return w.watch, brw, nil
}

// rawConn unwraps a frameWatch.
func rawConn(c net.Conn) net.Conn {
	if w, ok := c.(*frameWatch); ok {
		return w.Conn
	}
	return c
}
