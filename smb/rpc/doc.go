// Package rpc serves connection-oriented DCE/RPC (C706 chapter 12 with the MS-RPCE extensions) over SMB
// named pipes.
//
// The SMB server opens a pipe with Server.OpenPipe (or OpenPipeAs, to say who the caller is) when a
// client creates a file on IPC$, forwards the client's WRITE / READ / FSCTL_PIPE_TRANSCEIVE bytes to
// Pipe.Write, Pipe.Read and Pipe.Transact, and closes the pipe with the handle:
//
//	WRITE        → Pipe.Write(data)                 error: ErrProtocol (stream out of sync), ErrPipeClosed
//	READ         → Pipe.Read(length)                more → STATUS_BUFFER_OVERFLOW; ErrPipeEmpty → nothing queued
//	TRANSCEIVE   → Pipe.Transact(input, maxOutput)  ErrPipeBusy → STATUS_PIPE_BUSY (unread data)
//
// A Pipe is one RPC association. It negotiates presentation contexts (bind / alter_context: NDR 2.0
// accepted, NDR64 rejected, bind time feature negotiation acknowledged), reassembles fragmented requests,
// dispatches them to an Interface and queues the response fragments, split at the negotiated fragment
// size. Everything is synchronous: the answer to a request is queued before Write returns.
//
// Interfaces served today: srvsvc (MS-SRVS) with NetrShareEnum, NetrShareEnumSticky, NetrShareGetInfo and
// NetrServerGetInfo, enough for "smbclient -L", Explorer and "net view". Other interfaces (the witness,
// MS-SWN) are further Interface values on their own endpoints. There is no RPC-level authentication: the
// SMB session already authenticated the user, so binds carrying an auth verifier are refused.
//
// Files: pdu.go (PDU framing), ndr.go (NDR 2.0 coder), pipe.go (association state machine and the
// SMB-facing API), srvsvc.go (the srvsvc interface).
package rpc
