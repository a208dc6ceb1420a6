package signal

import (
	"encoding/binary"
	"testing"
)

// frame builds a masked client frame header (zero mask) and its payload.
func frame(opcode byte, n int) []byte {
	b := []byte{0x80 | opcode}
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, make([]byte, n)...)
}

func TestFrameWatchFindsOneByteClose(t *testing.T) {
	cat := func(frames ...[]byte) []byte {
		var out []byte
		for _, f := range frames {
			out = append(out, f...)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		stream []byte
		want   bool
	}{
		{"empty close", frame(0x8, 0), false},
		{"close with a code", frame(0x8, 2), false},
		{"1-byte close", frame(0x8, 1), true},
		{"1-byte ping", frame(0x9, 1), false},
		{"1-byte text", frame(0x1, 1), false},
		{"after a 16-bit length frame", cat(frame(0x2, 300), frame(0x8, 1)), true},
		{"after a 64-bit length frame", cat(frame(0x2, 70000), frame(0x8, 1)), true},
		// A text frame whose payload looks like a 1-byte close header.
		{"close bytes inside a payload", cat([]byte{0x81, 0x87, 0, 0, 0, 0}, frame(0x8, 1)[:7]), false},
	} {
		for _, chunk := range []int{1, 3, 1 << 20} {
			w := &frameWatch{}
			for b := c.stream; len(b) > 0; {
				k := min(chunk, len(b))
				w.scan(b[:k])
				b = b[k:]
			}
			if got := w.oneByteClose.Load(); got != c.want {
				t.Errorf("%s in chunks of %d: %v, want %v", c.name, chunk, got, c.want)
			}
		}
	}
}
