package server

import (
	"encoding/binary"

	"github.com/sofs-dev/sofs/smb/wire"
)

// objectIDSize is a FILE_OBJECTID_BUFFER: ObjectId, BirthVolumeId, BirthObjectId, DomainId.
const objectIDSize = 64

// createOrGetObjectID answers FSCTL_CREATE_OR_GET_OBJECT_ID (MS-FSCC 2.3.7, 2.1.3). No backend
// stores object IDs, so the ID is derived from what identifies the file for good: its stable
// file ID, qualified by the server GUID standing for the volume. The same file always gets the
// same ID and two files never share one.
func createOrGetObjectID(r *request, req *wire.IoctlRequest) error {
	o, err := r.lookupOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.file == nil {
		return wire.StatusInvalidDeviceRequest // pipes have no object ID
	}
	if req.MaxOutputResponse < objectIDSize {
		return errInvalidParameter
	}
	fi, err := o.file.Stat()
	if err != nil {
		return err
	}
	guid := r.c.srv.cfg.ServerGUID
	out := make([]byte, objectIDSize)
	binary.LittleEndian.PutUint64(out[0:], fi.ID)
	copy(out[8:16], guid[:8])
	copy(out[16:32], guid[:])   // BirthVolumeId
	copy(out[32:48], out[0:16]) // BirthObjectId: the ID never moved
	r.resp = (&wire.IoctlResponse{CtlCode: req.CtlCode, FileID: o.id, Output: out}).Append(r.resp)
	return nil
}
