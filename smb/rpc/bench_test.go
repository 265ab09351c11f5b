package rpc

import "testing"

// BenchmarkShareEnumLevel1 measures one NetrShareEnum level 1 round trip of 100 shares through a bound
// pipe (request write, dispatch, NDR encoding, fragmentation, reads), as smbclient -L or Explorer does.
func BenchmarkShareEnumLevel1(b *testing.B) {
	p, err := (&Server{ServerName: "B", Shares: manyShares(100)}).OpenPipe("srvsvc")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.Transact(tBind(11, 1, 4280, 4280, 0, tCtx{id: 0, abstract: tSrvsvc, transfers: [][20]byte{tNDR}}), 4280); err != nil {
		b.Fatal(err)
	}
	req := tRequest(2, 0, opNetrShareEnum, tShareEnumStub(`\\B`, 1, 0xFFFFFFFF, 0), 4096)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Transact(req, 4280); err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := p.Read(4280); err != nil {
				break
			}
		}
	}
}
