// Package rpc serves connection-oriented DCE/RPC (C706 chapter 12 with the MS-RPCE extensions) over SMB
// named pipes.
//
// The SMB server opens a pipe with Server.OpenPipe when a client creates a file on IPC$, forwards the
// client's WRITE / READ / FSCTL_PIPE_TRANSCEIVE bytes to Pipe.Write, Pipe.Read and Pipe.Transact, and
// closes it with the handle. A Pipe is one RPC association: it negotiates presentation contexts
// (bind / alter_context, NDR 2.0 only, bind time feature negotiation), reassembles fragmented requests,
// dispatches them to an Interface and queues the response fragments, split at the negotiated fragment
// size.
//
// Interfaces served today: srvsvc (MS-SRVS) with NetrShareEnum, NetrShareEnumSticky, NetrShareGetInfo and
// NetrServerGetInfo, enough for "smbclient -L", Explorer and "net view". The witness interface (MS-SWN)
// will be another Interface on its own endpoint. There is no RPC-level authentication: the SMB session
// already authenticated the user, so binds carrying an auth verifier are refused.
package rpc
