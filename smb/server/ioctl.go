package server

import (
	"github.com/sofs-dev/sofs/smb/wire"
)

// handleIoctl implements MS-SMB2 3.3.5.15 for the FSCTLs this server answers. Anything else is
// refused honestly: STATUS_NOT_SUPPORTED for file-system controls we do not implement. The
// file-system controls on an open file are in fsctl_fs.go.
func handleIoctl(r *request) error {
	var req wire.IoctlRequest
	if err := req.Decode(r.msg); err != nil {
		return errInvalidParameter
	}
	maxTransact := r.c.neg.Load().maxTransact
	if uint32(len(req.Input)) > maxTransact || req.MaxOutputResponse > maxTransact || req.MaxInputResponse > maxTransact {
		return errInvalidParameter
	}
	if err := r.checkCharge(max(uint32(len(req.Input)), req.MaxOutputResponse)); err != nil {
		return err
	}
	if req.Flags&wire.IoctlFlagIsFSCTL == 0 {
		return wire.StatusNotSupported // device IOCTLs (MS-SMB2 3.3.5.15: only FSCTLs are served)
	}
	switch req.CtlCode {
	case wire.FSCTL_VALIDATE_NEGOTIATE_INFO:
		return validateNegotiate(r, &req)
	case wire.FSCTL_PIPE_TRANSCEIVE:
		return pipeTransceive(r, &req)
	case wire.FSCTL_QUERY_NETWORK_INTERFACE_INFO:
		return queryNetworkInterfaces(r, &req)
	case wire.FSCTL_DFS_GET_REFERRALS, wire.FSCTL_DFS_GET_REFERRALS_EX:
		// No DFS namespace is served (the DFS fallback for redirection is a later issue).
		return wire.StatusFsDriverRequired
	case wire.FSCTL_PIPE_WAIT:
		r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: req.FileID}).Append(r.resp)
		return nil
	}
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if fsctl, ok := fileFsctls[req.CtlCode]; ok {
		return fsctl(r, &req, o) // fsctl_fs.go
	}
	return wire.StatusNotSupported
}

// validateNegotiate answers FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 3.3.5.15.12): the client
// checks that nobody tampered with the unsigned NEGOTIATE. Any mismatch terminates the
// connection; on 3.1.1 preauth integrity replaces this and the request itself terminates it.
func validateNegotiate(r *request, req *wire.IoctlRequest) error {
	c := r.c
	n := c.neg.Load()
	di, guid, caps, secMode, dialects := n.di, n.clientGUID, n.clientCaps, n.clientSecMode, n.clientDialects
	if !di.validateNegotiate {
		return errDropConnection
	}
	var v wire.ValidateNegotiateInfoRequest
	if err := v.Decode(req.Input); err != nil {
		return errDropConnection
	}
	if v.GUID != guid || v.SecurityMode != secMode || v.Capabilities != caps || len(v.Dialects) != len(dialects) {
		c.log.Warn("validate negotiate mismatch: dropping connection")
		return errDropConnection
	}
	for i := range dialects {
		if v.Dialects[i] != dialects[i] {
			return errDropConnection
		}
	}
	nr := c.negotiateResponse(di.dialect)
	out := (&wire.ValidateNegotiateInfoResponse{
		Capabilities: nr.Capabilities,
		GUID:         nr.ServerGUID,
		SecurityMode: nr.SecurityMode,
		Dialect:      di.dialect,
	}).Append(nil)
	if uint32(len(out)) > req.MaxOutputResponse {
		return errInvalidParameter
	}
	r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: req.FileID, Output: out}).Append(r.resp)
	return nil
}

// pipeTransceive writes a DCE/RPC request to a pipe and returns its response in one round trip.
func pipeTransceive(r *request, req *wire.IoctlRequest) error {
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.pipe == nil {
		return wire.StatusInvalidDeviceRequest
	}
	out, more, err := o.pipe.Transact(req.Input, int(req.MaxOutputResponse))
	if err != nil {
		return err
	}
	if more {
		r.status = wire.StatusBufferOverflow
	}
	r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: o.id, Output: out}).Append(r.resp)
	return nil
}
