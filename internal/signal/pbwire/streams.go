package pbwire

//lint:file-ignore SA1019 the deprecated kind field is still sent: older clients read it.

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Data streams and RPC as a server-side participant (a scripted agent) sends
// and reads them: text streams (a header, chunks, a trailer, each a
// DataPacket on the reliable channel) and RPC requests, acks and responses.

// maxInflated bounds what a compressed stream chunk or RPC payload may
// inflate to.
const maxInflated = 1 << 20

// StreamHeader encodes the header of a text stream from sender.
func StreamHeader(sender, streamID, topic string, attrs map[string]string, at time.Time) ([]byte, error) {
	return proto.Marshal(&livekit.DataPacket{
		Kind:                livekit.DataPacket_RELIABLE,
		ParticipantIdentity: sender,
		Value: &livekit.DataPacket_StreamHeader{StreamHeader: &livekit.DataStream_Header{
			StreamId:   streamID,
			Timestamp:  at.UnixMilli(),
			Topic:      topic,
			MimeType:   "text/plain",
			Attributes: attrs,
			ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{
				OperationType: livekit.DataStream_CREATE,
			}},
		}},
	})
}

// StreamChunk encodes chunk index of a stream.
func StreamChunk(sender, streamID string, index uint64, content []byte) ([]byte, error) {
	return proto.Marshal(&livekit.DataPacket{
		Kind:                livekit.DataPacket_RELIABLE,
		ParticipantIdentity: sender,
		Value: &livekit.DataPacket_StreamChunk{StreamChunk: &livekit.DataStream_Chunk{
			StreamId: streamID, ChunkIndex: index, Content: content,
		}},
	})
}

// StreamTrailer encodes the end of a stream; reason is empty for a stream
// that ended as expected; attrs update the header's.
func StreamTrailer(sender, streamID, reason string, attrs map[string]string) ([]byte, error) {
	return proto.Marshal(&livekit.DataPacket{
		Kind:                livekit.DataPacket_RELIABLE,
		ParticipantIdentity: sender,
		Value: &livekit.DataPacket_StreamTrailer{StreamTrailer: &livekit.DataStream_Trailer{
			StreamId: streamID, Reason: reason, Attributes: attrs,
		}},
	})
}

// RPCAck encodes the acknowledgement of request requestID, sent to caller.
func RPCAck(sender, caller, requestID string) ([]byte, error) {
	return proto.Marshal(&livekit.DataPacket{
		Kind:                  livekit.DataPacket_RELIABLE,
		ParticipantIdentity:   sender,
		DestinationIdentities: []string{caller},
		Value:                 &livekit.DataPacket_RpcAck{RpcAck: &livekit.RpcAck{RequestId: requestID}},
	})
}

// RPCResponse encodes the answer to request requestID: payload, or an error
// when errCode is not 0.
func RPCResponse(sender, caller, requestID, payload string, errCode uint32, errMsg string) ([]byte, error) {
	r := &livekit.RpcResponse{RequestId: requestID}
	if errCode != 0 {
		r.Value = &livekit.RpcResponse_Error{Error: &livekit.RpcError{Code: errCode, Message: errMsg}}
	} else {
		r.Value = &livekit.RpcResponse_Payload{Payload: payload}
	}
	return proto.Marshal(&livekit.DataPacket{
		Kind:                  livekit.DataPacket_RELIABLE,
		ParticipantIdentity:   sender,
		DestinationIdentities: []string{caller},
		Value:                 &livekit.DataPacket_RpcResponse{RpcResponse: r},
	})
}

// StreamPacket is what a data stream or RPC packet says.
type StreamPacket struct {
	Kind     string // "stream_header", "stream_chunk", "stream_trailer", "rpc_request"; "" for others
	Sender   string // the sender's identity
	StreamID string
	// Header: Topic, Attributes, Text (a text stream) and, when the header
	// carries the whole content inline, Content with Inline set.
	Topic      string
	Attributes map[string]string
	Text       bool
	Inline     bool
	// Chunk: Content, inflated when the stream is compressed (Compressed
	// tells the caller to inflate chunks with Inflate).
	Content    []byte
	Compressed bool
	// RPC request.
	RequestID string
	Method    string
	Payload   string
}

// DecodeStreamPacket reads a data stream or RPC request packet; other
// packets decode with an empty Kind.
func DecodeStreamPacket(b []byte) (StreamPacket, error) {
	var dp livekit.DataPacket
	if err := proto.Unmarshal(b, &dp); err != nil {
		return StreamPacket{}, fmt.Errorf("cannot unmarshal data packet: %w", err)
	}
	out := StreamPacket{Sender: dp.GetParticipantIdentity()}
	switch v := dp.Value.(type) {
	case *livekit.DataPacket_StreamHeader:
		h := v.StreamHeader
		out.Kind, out.StreamID, out.Topic, out.Attributes = "stream_header", h.GetStreamId(), h.GetTopic(), h.GetAttributes()
		out.Text = h.GetTextHeader() != nil
		out.Compressed = h.GetCompression() == livekit.DataStream_DEFLATE_RAW
		if h.InlineContent != nil {
			out.Inline, out.Content = true, h.GetInlineContent()
			if out.Compressed {
				c, err := Inflate(out.Content)
				if err != nil {
					return StreamPacket{}, err
				}
				out.Content = c
			}
		}
	case *livekit.DataPacket_StreamChunk:
		out.Kind, out.StreamID, out.Content = "stream_chunk", v.StreamChunk.GetStreamId(), v.StreamChunk.GetContent()
	case *livekit.DataPacket_StreamTrailer:
		out.Kind, out.StreamID, out.Attributes = "stream_trailer", v.StreamTrailer.GetStreamId(), v.StreamTrailer.GetAttributes()
	case *livekit.DataPacket_RpcRequest:
		r := v.RpcRequest
		out.Kind, out.RequestID, out.Method, out.Payload = "rpc_request", r.GetId(), r.GetMethod(), r.GetPayload()
		if c := r.GetCompressedPayload(); len(c) > 0 {
			p, err := Inflate(c)
			if err != nil {
				return StreamPacket{}, err
			}
			out.Payload = string(p)
		}
	}
	return out, nil
}

// Inflate undoes deflate-raw compression (data streams, RPC payloads), up to
// 1 MiB.
func Inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer func() { _ = r.Close() }()
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("cannot inflate: %w", err)
	}
	if len(out) > maxInflated {
		return nil, errors.New("inflates to more than 1 MiB")
	}
	return out, nil
}
