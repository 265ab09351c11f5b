package rpc_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/sofs-dev/sofs/smb/rpc"
)

type shares []rpc.Share

func (s shares) Shares() []rpc.Share { return s }

// How the SMB server drives a pipe: CREATE "srvsvc" on IPC$ opens it, FSCTL_PIPE_TRANSCEIVE (or WRITE
// then READ) carries the DCE/RPC PDUs, CLOSE closes it. The PDUs here are what smbclient -L sent.
func ExampleServer_OpenPipe() {
	srv := &rpc.Server{ServerName: "SOFS1", Shares: shares{
		{Name: "vms", Type: rpc.STypeDiskTree, Comment: "Hyper-V guests", Path: `C:\vms`},
		{Name: "IPC$", Type: rpc.STypeIPC | rpc.STypeSpecial, Comment: "Remote IPC"},
	}}
	pipe, err := srv.OpenPipe("srvsvc")
	if err != nil {
		panic(err)
	}
	defer pipe.Close()

	bind, _ := os.ReadFile("testdata/samba/smbclient-bind.bin")
	enum, _ := os.ReadFile("testdata/samba/smbclient-shareenumall-l1-req.bin")
	for _, in := range [][]byte{bind, enum} {
		out, more, err := pipe.Transact(in, 4280) // the client's MaxOutputResponse
		if err != nil {
			panic(err)
		}
		// Byte 2 of a PDU is its type: 12 bind_ack, 2 response.
		fmt.Printf("in type %d -> out type %d, %d bytes, more=%v\n", in[2], out[2], len(out), more)
	}
	_, _, err = pipe.Read(4280)
	fmt.Println(errors.Is(err, rpc.ErrPipeEmpty))
	// Output:
	// in type 11 -> out type 12, 68 bytes, more=false
	// in type 0 -> out type 2, 212 bytes, more=false
	// true
}
