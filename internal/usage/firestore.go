package usage

import (
	"context"
	"errors"
	"io"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// RPC is one Firestore call as made: its method, a copy of its request,
// and the transaction it began, if it began one.
type RPC struct {
	Method  string
	Request proto.Message
	Began   []byte // BeginTransaction's transaction, or one begun by a read's new_transaction
}

// DialOptions are the gRPC options that count a Firestore client's
// operations (give them to the connection the client is made on).
func (c *Counter) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(c.unary), grpc.WithChainStreamInterceptor(c.stream)}
}

// unary counts the documents a Commit or BatchWrite writes and deletes.
func (c *Counter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := invoke(ctx, method, req, reply, cc, opts...); err != nil {
		return err
	}
	rpc := &RPC{Method: method, Request: proto.Clone(req.(proto.Message))}
	var o Ops
	switch r := req.(type) {
	case *firestorepb.CommitRequest:
		o = writes(r.GetWrites())
	case *firestorepb.BatchWriteRequest:
		o = writes(r.GetWrites())
	case *firestorepb.BeginTransactionRequest:
		rpc.Began = reply.(*firestorepb.BeginTransactionResponse).GetTransaction()
	}
	c.add(ctx, o, rpc)
	return nil
}

func writes(ws []*firestorepb.Write) Ops {
	var o Ops
	for _, w := range ws {
		if w.GetDelete() != "" {
			o.Deletes++
		} else {
			o.Writes++
		}
	}
	return o
}

// stream counts the documents a BatchGetDocuments, RunQuery or
// RunAggregationQuery returns.
func (c *Counter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &countedStream{ClientStream: s, c: c, ctx: ctx, rpc: RPC{Method: method}}, nil
}

type countedStream struct {
	grpc.ClientStream
	c     *Counter
	ctx   context.Context
	rpc   RPC
	reads int64
	query bool // a query: at least one read, even when it returns nothing
	done  bool
}

func (s *countedStream) SendMsg(m any) error {
	if pm, ok := m.(proto.Message); ok && s.rpc.Request == nil {
		s.rpc.Request = proto.Clone(pm)
		switch m.(type) {
		case *firestorepb.RunQueryRequest, *firestorepb.RunAggregationQueryRequest:
			s.query = true
		}
	}
	return s.ClientStream.SendMsg(m)
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.finish()
		}
		return err
	}
	switch r := m.(type) {
	case *firestorepb.BatchGetDocumentsResponse:
		if r.GetFound() != nil || r.GetMissing() != "" {
			s.read() // a get of a missing document is billed as a read too
		}
		if t := r.GetTransaction(); len(t) > 0 {
			s.rpc.Began = t
		}
	case *firestorepb.RunQueryResponse:
		if r.GetDocument() != nil {
			s.read()
		}
		if t := r.GetTransaction(); len(t) > 0 {
			s.rpc.Began = t
		}
		if r.GetDone() {
			s.finish()
		}
	case *firestorepb.RunAggregationQueryResponse:
		if r.GetResult() != nil {
			s.read() // one per up to 1,000 index entries; these counts are small
		}
	}
	return nil
}

// read counts a document as it arrives (a stream left before its end
// has still read it).
func (s *countedStream) read() {
	s.reads++
	s.c.add(s.ctx, Ops{Reads: 1}, nil)
}

// finish counts a query that returned nothing as one read and records
// the call, once.
func (s *countedStream) finish() {
	if s.done {
		return
	}
	s.done = true
	var o Ops
	if s.query && s.reads == 0 {
		o.Reads = 1
	}
	s.c.add(s.ctx, o, &s.rpc)
}
