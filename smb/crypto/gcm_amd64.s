//go:build amd64 && !purego

#include "textflag.h"

// AES-CTR kernel for GCM (gcm.go): sixteen counter blocks a step, four to a 512-bit register,
// through VAESENC with every round key broadcast to all four lanes.
//
// Registers: Z0-Z3 the counters of the next step, with the 32-bit counter little-endian
// (made big-endian by Z9's shuffle when encrypted, added to with VPADDD); Z8 adds 16 to each;
// Z10-Z13 the blocks being encrypted; Z16-Z30 round keys 0..14.

// func ctrAVX512(rk *[15][16]byte, rounds int, ctrs *[16][16]byte, dst, src *byte, groups int)
TEXT ·ctrAVX512(SB), NOSPLIT, $0-48
	MOVQ rk+0(FP), AX
	MOVQ rounds+8(FP), BX
	MOVQ ctrs+16(FP), SI
	MOVQ dst+24(FP), DI
	MOVQ src+32(FP), DX
	MOVQ groups+40(FP), CX

	VBROADCASTI32X4 0(AX), Z16
	VBROADCASTI32X4 16(AX), Z17
	VBROADCASTI32X4 32(AX), Z18
	VBROADCASTI32X4 48(AX), Z19
	VBROADCASTI32X4 64(AX), Z20
	VBROADCASTI32X4 80(AX), Z21
	VBROADCASTI32X4 96(AX), Z22
	VBROADCASTI32X4 112(AX), Z23
	VBROADCASTI32X4 128(AX), Z24
	VBROADCASTI32X4 144(AX), Z25
	VBROADCASTI32X4 160(AX), Z26
	CMPQ BX, $14
	JNE  keysdone
	VBROADCASTI32X4 176(AX), Z27
	VBROADCASTI32X4 192(AX), Z28
	VBROADCASTI32X4 208(AX), Z29
	VBROADCASTI32X4 224(AX), Z30

keysdone:
	VMOVDQU64       0(SI), Z0
	VMOVDQU64       64(SI), Z1
	VMOVDQU64       128(SI), Z2
	VMOVDQU64       192(SI), Z3
	VBROADCASTI32X4 ctrSwap<>(SB), Z9
	VBROADCASTI32X4 ctrInc16<>(SB), Z8
	TESTQ           CX, CX
	JZ              done

loop:
	VPSHUFB Z9, Z0, Z10
	VPSHUFB Z9, Z1, Z11
	VPSHUFB Z9, Z2, Z12
	VPSHUFB Z9, Z3, Z13
	VPXORQ  Z16, Z10, Z10
	VPXORQ  Z16, Z11, Z11
	VPXORQ  Z16, Z12, Z12
	VPXORQ  Z16, Z13, Z13

#define ROUND(k) \
	VAESENC k, Z10, Z10; \
	VAESENC k, Z11, Z11; \
	VAESENC k, Z12, Z12; \
	VAESENC k, Z13, Z13

	ROUND(Z17)
	ROUND(Z18)
	ROUND(Z19)
	ROUND(Z20)
	ROUND(Z21)
	ROUND(Z22)
	ROUND(Z23)
	ROUND(Z24)
	ROUND(Z25)
	CMPQ BX, $14
	JEQ  aes256
	VAESENCLAST Z26, Z10, Z10
	VAESENCLAST Z26, Z11, Z11
	VAESENCLAST Z26, Z12, Z12
	VAESENCLAST Z26, Z13, Z13
	JMP  xorout

aes256:
	ROUND(Z26)
	ROUND(Z27)
	ROUND(Z28)
	ROUND(Z29)
	VAESENCLAST Z30, Z10, Z10
	VAESENCLAST Z30, Z11, Z11
	VAESENCLAST Z30, Z12, Z12
	VAESENCLAST Z30, Z13, Z13

xorout:
	VPXORQ    0(DX), Z10, Z10
	VPXORQ    64(DX), Z11, Z11
	VPXORQ    128(DX), Z12, Z12
	VPXORQ    192(DX), Z13, Z13
	VMOVDQU64 Z10, 0(DI)
	VMOVDQU64 Z11, 64(DI)
	VMOVDQU64 Z12, 128(DI)
	VMOVDQU64 Z13, 192(DI)
	VPADDD    Z8, Z0, Z0
	VPADDD    Z8, Z1, Z1
	VPADDD    Z8, Z2, Z2
	VPADDD    Z8, Z3, Z3
	ADDQ      $256, DX
	ADDQ      $256, DI
	DECQ      CX
	JNZ       loop

done:
	VZEROUPPER
	RET

// Keeps bytes 0..11 of each lane and reverses bytes 12..15 (the counter word).
DATA ctrSwap<>+0(SB)/8, $0x0706050403020100
DATA ctrSwap<>+8(SB)/8, $0x0c0d0e0f0b0a0908
GLOBL ctrSwap<>(SB), RODATA|NOPTR, $16

// 16 in the counter word of a lane.
DATA ctrInc16<>+0(SB)/8, $0
DATA ctrInc16<>+8(SB)/8, $0x0000001000000000
GLOBL ctrInc16<>(SB), RODATA|NOPTR, $16
