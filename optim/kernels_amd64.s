#include "textflag.h"
#include "go_asm.h"

// func adamWAVX2(p, m, v, g []float32, c *adamCoeffs)
// Per 8 lanes, in the order of adamWGeneric:
//   gi = g*gradScale; mi = beta1*m + omb1*gi; vi = beta2*v + (omb2*gi)*gi
//   step = (stepSize*mi) / (sqrt(vi) + eps); p = float32(float64(p)*decay - float64(step))
TEXT ·adamWAVX2(SB), NOSPLIT, $0-104
	MOVQ p_base+0(FP), DI
	MOVQ p_len+8(FP), CX
	MOVQ m_base+24(FP), SI
	MOVQ v_base+48(FP), DX
	MOVQ g_base+72(FP), BX
	MOVQ c+96(FP), AX
	VBROADCASTSD adamCoeffs_decay(AX), Y15
	VBROADCASTSS adamCoeffs_beta1(AX), Y9
	VBROADCASTSS adamCoeffs_oneMinusBeta1(AX), Y10
	VBROADCASTSS adamCoeffs_beta2(AX), Y11
	VBROADCASTSS adamCoeffs_oneMinusBeta2(AX), Y12
	VBROADCASTSS adamCoeffs_stepSize(AX), Y13
	VBROADCASTSS adamCoeffs_eps(AX), Y14
	VBROADCASTSS adamCoeffs_gradScale(AX), Y8
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMULPS (BX)(AX*4), Y8, Y0        // gi
	VMULPS (SI)(AX*4), Y9, Y1        // beta1*m
	VMULPS Y0, Y10, Y2               // omb1*gi
	VADDPS Y2, Y1, Y1                // mi
	VMOVUPS Y1, (SI)(AX*4)
	VMULPS (DX)(AX*4), Y11, Y3       // beta2*v
	VMULPS Y0, Y12, Y4               // omb2*gi
	VMULPS Y0, Y4, Y4                // (omb2*gi)*gi
	VADDPS Y4, Y3, Y3                // vi
	VMOVUPS Y3, (DX)(AX*4)
	VSQRTPS Y3, Y5
	VADDPS Y14, Y5, Y5               // sqrt(vi) + eps
	VMULPS Y1, Y13, Y6               // stepSize*mi
	VDIVPS Y5, Y6, Y6                // step
	VCVTPS2PD (DI)(AX*4), Y7         // low four parameters in float64
	VMULPD Y15, Y7, Y7
	VCVTPS2PD X6, Y2
	VSUBPD Y2, Y7, Y7
	VCVTPD2PSY Y7, X7
	VMOVUPS X7, (DI)(AX*4)
	VCVTPS2PD 16(DI)(AX*4), Y7       // high four
	VMULPD Y15, Y7, Y7
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X6, Y2
	VSUBPD Y2, Y7, Y7
	VCVTPD2PSY Y7, X7
	VMOVUPS X7, 16(DI)(AX*4)
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func sumSquaresAVX2(s []float32) float64
// Y0..Y3 hold the sixteen partial sums of sumSquares16 (lane j of Yk: residue 4k+j).
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-32
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX

sumloop:
	CMPQ AX, CX
	JGE  sumdone
	VCVTPS2PD (SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VMULPD Y4, Y4, Y4
	VMULPD Y5, Y5, Y5
	VMULPD Y6, Y6, Y6
	VMULPD Y7, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $16, AX
	JMP  sumloop

sumdone:
	VADDPD Y1, Y0, Y0                // a[j] + a[j+4]
	VADDPD Y3, Y2, Y2                // a[j+8] + a[j+12]
	VADDPD Y2, Y0, Y0                // lanes
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0                // (lanes[0]+lanes[2]), (lanes[1]+lanes[3])
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET
