//go:build amd64 && !purego

#include "textflag.h"

// GHASH kernel; the algorithm and the representation are described in ghash.go.
//
// Sixteen blocks a step: four 512-bit registers of four blocks each, every block multiplied
// (schoolbook, four 64x64 carry-less products per lane) by the twisted power of H it needs,
// and the running value by H^16; all products are XORed together and reduced once. The tail
// (fewer than sixteen blocks) goes one block at a time.
//
// Registers: X0 running value; Z1-Z4 data; Z5-Z8 powers H^16..H^1; Z10 low, Z11 high and
// Z12 middle products; Z13-Z14 scratch; X9 reduction constant; X15 and Z31 the byte-reversal
// mask.

// MULACC adds the lane-wise 256-bit products D*P to Z10 (low halves), Z11 (high halves) and
// Z12 (middle terms).
#define MULACC(P, D) \
	VPCLMULQDQ $0x00, P, D, Z13; \
	VPCLMULQDQ $0x11, P, D, Z14; \
	VPXORQ     Z13, Z10, Z10; \
	VPXORQ     Z14, Z11, Z11; \
	VPCLMULQDQ $0x01, P, D, Z13; \
	VPCLMULQDQ $0x10, P, D, Z14; \
	VPTERNLOGQ $0x96, Z13, Z14, Z12

// CLEARACC zeroes the three accumulators.
#define CLEARACC \
	VPXORQ Z10, Z10, Z10; \
	VPXORQ Z11, Z11, Z11; \
	VPXORQ Z12, Z12, Z12

// FOLD splits the middle terms over the two halves of each lane and sums the four lanes into
// one 256-bit value, X11:X10.
#define FOLD \
	VPSLLDQ       $8, Z12, Z13; \
	VPSRLDQ       $8, Z12, Z14; \
	VPXORQ        Z13, Z10, Z10; \
	VPXORQ        Z14, Z11, Z11; \
	VEXTRACTI64X4 $1, Z10, Y13; \
	VEXTRACTI64X4 $1, Z11, Y14; \
	VPXOR         Y13, Y10, Y10; \
	VPXOR         Y14, Y11, Y11; \
	VEXTRACTI128  $1, Y10, X13; \
	VEXTRACTI128  $1, Y11, X14; \
	VPXOR         X13, X10, X10; \
	VPXOR         X14, X11, X11

// MULADD128 adds the 256-bit product D*P of two single blocks (X registers) to X11:X10.
#define MULADD128(P, D) \
	VPCLMULQDQ $0x00, P, D, X13; \
	VPCLMULQDQ $0x11, P, D, X14; \
	VPXOR      X13, X10, X10; \
	VPXOR      X14, X11, X11; \
	VPCLMULQDQ $0x01, P, D, X13; \
	VPCLMULQDQ $0x10, P, D, X14; \
	VPXOR      X13, X14, X14; \
	VPSLLDQ    $8, X14, X13; \
	VPSRLDQ    $8, X14, X14; \
	VPXOR      X13, X10, X10; \
	VPXOR      X14, X11, X11

// REDUCE reduces X11:X10 modulo P into X0 (two folds of the low half by K; a VEX write to X0
// clears the rest of Z0).
#define REDUCE \
	VPCLMULQDQ $0x00, X9, X10, X13; \
	VPSHUFD    $0x4e, X10, X10; \
	VPXOR      X13, X10, X10; \
	VPCLMULQDQ $0x00, X9, X10, X13; \
	VPSHUFD    $0x4e, X10, X10; \
	VPXOR      X13, X10, X10; \
	VPXOR      X11, X10, X0

// func ghashAVX512(y *[2]uint64, tbl *[16][2]uint64, p *byte, n int)
TEXT ·ghashAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ tbl+8(FP), SI
	MOVQ p+16(FP), DX
	MOVQ n+24(FP), CX

	VMOVDQU         (DI), X0
	VMOVDQU         ghashBswap<>(SB), X15
	VBROADCASTI32X4 ghashBswap<>(SB), Z31
	VMOVDQU         ghashK<>(SB), X9

	CMPQ      CX, $16
	JB        tail
	VMOVDQU64 0(SI), Z5
	VMOVDQU64 64(SI), Z6
	VMOVDQU64 128(SI), Z7
	VMOVDQU64 192(SI), Z8

loop16:
	VMOVDQU64 0(DX), Z1
	VMOVDQU64 64(DX), Z2
	VMOVDQU64 128(DX), Z3
	VMOVDQU64 192(DX), Z4
	VPSHUFB   Z31, Z1, Z1
	VPSHUFB   Z31, Z2, Z2
	VPSHUFB   Z31, Z3, Z3
	VPSHUFB   Z31, Z4, Z4
	CLEARACC
	MULACC(Z5, Z1)
	MULACC(Z6, Z2)
	MULACC(Z7, Z3)
	MULACC(Z8, Z4)
	FOLD
	// The running value times H^16 (X5 is lane 0 of Z5) joins last, so the only dependency
	// from one step to the next is this product and the reduction.
	MULADD128(X5, X0)
	REDUCE
	ADDQ $256, DX
	SUBQ $16, CX
	CMPQ CX, $16
	JAE  loop16

tail:
	TESTQ   CX, CX
	JZ      done
	VMOVDQU 240(SI), X5

single:
	VMOVDQU (DX), X1
	VPSHUFB X15, X1, X1
	VPXOR   X0, X1, X1
	VPXOR   X10, X10, X10
	VPXOR   X11, X11, X11
	MULADD128(X5, X1)
	REDUCE
	ADDQ    $16, DX
	DECQ    CX
	JNZ     single

done:
	VMOVDQU X0, (DI)
	VZEROUPPER
	RET

// Reverses the bytes of each 128-bit lane.
DATA ghashBswap<>+0(SB)/8, $0x08090a0b0c0d0e0f
DATA ghashBswap<>+8(SB)/8, $0x0001020304050607
GLOBL ghashBswap<>(SB), RODATA|NOPTR, $16

// K (ghash.go) in both halves, so either half may be selected.
DATA ghashK<>+0(SB)/8, $0xc200000000000000
DATA ghashK<>+8(SB)/8, $0xc200000000000000
GLOBL ghashK<>(SB), RODATA|NOPTR, $16
